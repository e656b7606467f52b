"""Two gunicorn processes behind a real nginx running ``deploy/nginx.conf``.

The python-socketio client connects through nginx over WebSocket and gets whole
replies from both processes, signed in once with the launch token both share;
the bundle's files come from nginx's disk, cacheable; the Host and Origin checks
still hold behind the proxy.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.gunicorn_server import Gunicorn
from tests.integration.test_serving_gunicorn import reply_text, signed_in_cookie
from tests.nginx_server import NginxServer, nginx_available
from tests.serving_app import expected
from tests.support import RawSocket, SocketClient, http_request, send


@pytest.fixture(scope="module")
def stack() -> Iterator[tuple[NginxServer, list[Gunicorn]]]:
    nginx_available()
    env = {"GPTCHAT_ALLOWED_HOSTS": "127.0.0.1"}
    with (
        Gunicorn.start(env=env) as one,
        Gunicorn.start(env=env) as two,
        NginxServer.start([one.port, two.port]) as nginx,
    ):
        yield nginx, [one, two]


def test_replies_stream_through_nginx_from_both_processes(
    stack: tuple[NginxServer, list[Gunicorn]],
) -> None:
    nginx, processes = stack
    cookie = signed_in_cookie(nginx.url)  # signed in by one process, good on the other
    clients = [SocketClient(nginx.url, headers={"Cookie": cookie}) for _ in range(4)]
    try:
        for i, client in enumerate(clients):
            send(client, "stream 40 0.005", f"conv-through-nginx-{i:02d}")
        pids = set()
        for i, client in enumerate(clients):
            done = client.wait_event("run_finished", conversation_id=f"conv-through-nginx-{i:02d}")
            assert done["status"] == "done"
            text = reply_text(client)
            assert text.endswith(expected(40)), text
            pids.add(int(text.split("]")[0].removeprefix("[pid ")))
    finally:
        for client in clients:
            client.close()
    # least_conn spread the four open tabs over both processes.
    workers = {pid for g in processes for pid in g.worker_pids()}
    assert pids == workers and len(pids) == 2, (pids, workers)


def test_the_bundle_comes_from_nginx_cacheable_and_the_page_from_the_app(
    stack: tuple[NginxServer, list[Gunicorn]],
) -> None:
    nginx, _ = stack
    cookie = signed_in_cookie(nginx.url)
    status, headers, page = http_request(nginx.url, "/", headers={"Cookie": cookie})
    assert status == 200 and headers["cache-control"] == "no-cache"
    assert "content-security-policy" in headers  # the app's own headers pass through
    script = page.split(b'src="')[1].split(b'"')[0].decode().lstrip("./")
    status, headers, body = http_request(
        nginx.url, f"/{script}", headers={"Accept-Encoding": "gzip"}
    )
    assert status == 200 and body, headers
    assert headers["cache-control"] == "public, max-age=31536000, immutable"
    assert headers["content-encoding"] == "gzip" and headers["x-content-type-options"] == "nosniff"
    # nginx's disk, not the app: the app's security headers are not on it.
    assert "content-security-policy" not in headers


def test_host_and_origin_checks_hold_behind_nginx(
    stack: tuple[NginxServer, list[Gunicorn]],
) -> None:
    nginx, _ = stack
    cookie = signed_in_cookie(nginx.url)
    # nginx passes the Host on as the browser sent it, port included...
    host = f"127.0.0.1:{nginx.port}"
    ok = RawSocket(nginx.url, host=host, origin=f"http://{host}", cookie=cookie)
    assert ok.connected, ok.refusal
    ok.ws.close()
    # ...so a page of another origin is refused, and so is a Host not allowed.
    other = RawSocket(nginx.url, host=host, origin="http://127.0.0.1:9", cookie=cookie)
    assert not other.connected
    status, _, _ = http_request(nginx.url, "/", headers={"Host": "evil.example", "Cookie": cookie})
    assert status == 403
