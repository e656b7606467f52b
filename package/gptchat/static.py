"""Serving the built web client (``build/``) and its index page."""

from __future__ import annotations

import gzip
import html
import re
from functools import cached_property
from pathlib import Path

from werkzeug.security import safe_join

_PACKAGE_DIR = Path(__file__).resolve().parent

#: Where the bundle may be: inside the installed package (wheel), or beside the
#: package folder in a source checkout or editable install (``package/build``).
BUILD_CANDIDATES = (_PACKAGE_DIR / "build", _PACKAGE_DIR.parent / "build")

_COMPRESSIBLE = (".js", ".css", ".svg")
_TITLE_RE = re.compile(r"<title>.*?</title>", re.S)
_ICON_RE = re.compile(r"\s*<link rel=\"icon\"[^>]*>")

MISSING_BUILD_HELP = (
    "The gptchat web client is not built. In a source checkout run: "
    "cd client && npm ci && npm run build"
)


def find_build_dir() -> Path | None:
    """The first folder holding a built ``index.html``, or None."""
    for candidate in BUILD_CANDIDATES:
        if (candidate / "index.html").is_file():
            return candidate
    return None


class Bundle:
    """The built client: its folder and an index page with the app's title."""

    def __init__(self, build_dir: Path | None = None) -> None:
        self.dir = build_dir if build_dir is not None else find_build_dir()
        # Compressed once per file; bounded by the bundle's own (fixed) set of files.
        self._gzipped: dict[str, bytes] = {}

    def gzipped(self, filename: str) -> bytes | None:
        """The gzip bytes of a text file of the bundle (compressed once), or None.

        Only scripts, styles and SVG: images are compressed already.
        """
        if self.dir is None or not filename.endswith(_COMPRESSIBLE):
            return None
        path = safe_join(str(self.dir), filename)
        if path is None or not Path(path).is_file():
            return None
        body = self._gzipped.get(path)
        if body is None:
            body = self._gzipped[path] = gzip.compress(Path(path).read_bytes(), 9, mtime=0)
        return body

    def read(self, filename: str) -> bytes | None:
        """The bytes of a file of the bundle, or None if it has no such file.

        Read whole, not streamed from an open file: a browser that leaves while a
        file is sent (a tab closed as it loads) leaves no file handle behind.
        """
        if self.dir is None:
            return None
        path = safe_join(str(self.dir), filename)
        if path is None or not Path(path).is_file():
            return None
        return Path(path).read_bytes()

    @cached_property
    def _index_template(self) -> str | None:
        if self.dir is None:
            return None
        return (self.dir / "index.html").read_text(encoding="utf-8")

    def index_html(self, title: str, favicon_url: str | None) -> str | None:
        """The index page with ``title`` and favicon set, escaped; None if not built."""
        template = self._index_template
        if template is None:
            return None
        head = f"<title>{html.escape(title)}</title>"
        if favicon_url:
            # The configured icon replaces the bundle's default one.
            template = _ICON_RE.sub("", template)
            head += f'\n    <link rel="icon" href="{html.escape(favicon_url, quote=True)}" />'
        return _TITLE_RE.sub(lambda _: head, template, count=1)
