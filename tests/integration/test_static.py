"""The bundle is served compressed to browsers that accept gzip, as is to others."""

from __future__ import annotations

import gzip
import re

from gptchat.static import find_build_dir
from tests.support import http_request


def test_assets_are_gzipped_when_accepted(server: str) -> None:
    status, _, page = http_request(server, "/")
    assert status == 200
    script = re.search(rb'src="\./(assets/[^"]+\.js)"', page)
    assert script is not None
    path = "/" + script.group(1).decode()
    build = find_build_dir()
    assert build is not None
    original = (build / path.lstrip("/")).read_bytes()

    status, headers, body = http_request(server, path, headers={"Accept-Encoding": "gzip, br"})
    assert status == 200
    assert headers["content-encoding"] == "gzip"
    assert headers["content-type"].startswith("text/javascript")
    assert headers["vary"] == "Accept-Encoding"
    assert "immutable" in headers["cache-control"]
    assert gzip.decompress(body) == original
    assert len(body) < len(original) / 2

    status, headers, body = http_request(server, path)
    assert status == 200
    assert "content-encoding" not in headers
    assert body == original


def test_compression_cannot_reach_outside_the_bundle(server: str) -> None:
    for path in ("/..%2fpyproject.toml", "/assets/..%2f..%2f..%2fREADME.md", "/nope.js"):
        status, headers, _ = http_request(server, path, headers={"Accept-Encoding": "gzip"})
        assert status == 404, path
        assert "content-encoding" not in headers
