"""Exposure: Host and Origin checks, authentication, headers and static files, on a real server."""

from __future__ import annotations

import logging
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from flask import Request

from gptchat import ChatApp
from tests.replies import MODEL_REPLY
from tests.support import RawSocket, SocketClient, http_request, live_server


@pytest.fixture(scope="module")
def shared() -> Iterator[str]:
    """One server for the checks that need no state of their own (keeps the suite fast)."""
    chat = ChatApp(allowed_origins=["https://chat.example.com"], allowed_hosts=["chat.internal"])
    with live_server(chat) as url:
        yield url


@pytest.fixture
def open_sockets() -> Iterator[list[RawSocket]]:
    sockets: list[RawSocket] = []
    yield sockets
    for s in sockets:
        s.close()


def connect(base: str, sockets: list[RawSocket], **kwargs: Any) -> RawSocket:
    s = RawSocket(base, **kwargs)
    sockets.append(s)
    return s


# -- DNS rebinding: the Host header --------------------------------------------


@pytest.mark.parametrize("path", ["/", "/favicon.svg", "/assets/nope.js", "/no-such-page"])
def test_foreign_host_is_refused_on_pages_and_static_files(shared: str, path: str) -> None:
    status, _, _ = http_request(shared, path, headers={"Host": "evil.example:5000"})
    assert status == 403


@pytest.mark.parametrize("host", ["localhost:5000", "127.0.0.1:5000", "[::1]:5000", "LOCALHOST"])
def test_loopback_names_are_served(shared: str, host: str) -> None:
    status, _, _ = http_request(shared, "/", headers={"Host": host})
    assert status == 200


def test_foreign_host_is_refused_on_the_socket(shared: str, open_sockets: list[RawSocket]) -> None:
    refused = connect(shared, open_sockets, host="evil.example:5000")
    assert not refused.connected and "evil.example" in (refused.refusal or "")
    assert connect(shared, open_sockets, host="localhost:5000").connected


def test_allowed_host_names_are_served(shared: str, open_sockets: list[RawSocket]) -> None:
    assert http_request(shared, "/", headers={"Host": "chat.internal:80"})[0] == 200
    assert http_request(shared, "/", headers={"Host": "chat.internal.evil.example"})[0] == 403
    assert connect(shared, open_sockets, host="chat.internal").connected


# -- cross-site WebSocket hijacking: the Origin header ---------------------------


@pytest.mark.parametrize(
    "origin",
    [
        "http://evil.example",
        "null",
        "http://127.0.0.1.evil.example",
        "https://chat.example.com.evil.example",
        "https://chat.example.com:8443",
        "http://chat.example.com",
    ],
)
def test_cross_origin_sockets_are_refused(
    shared: str, open_sockets: list[RawSocket], origin: str
) -> None:
    assert not connect(shared, open_sockets, origin=origin).connected


def test_same_origin_and_exact_allowlisted_origins_connect(
    shared: str, open_sockets: list[RawSocket]
) -> None:
    for origin in (shared, "https://chat.example.com"):
        assert connect(shared, open_sockets, origin=origin).connected, origin


@pytest.mark.parametrize(
    "bad", [["*"], ["null"], ["https://*.example.com"], ["https://a.example/path"], ["a.example"]]
)
def test_origin_allowlist_refuses_wildcards_and_non_origins(bad: list[str]) -> None:
    with pytest.raises(ValueError, match="allowed_origins"):
        ChatApp(allowed_origins=bad)


# -- headers and static files ------------------------------------------------------


def test_html_carries_strict_security_headers(shared: str) -> None:
    status, headers, _ = http_request(shared, "/")
    assert status == 200
    csp = headers["content-security-policy"]
    directives = dict(d.strip().split(" ", 1) for d in csp.split(";"))
    assert directives["script-src"] == "'self'"  # no inline script, no eval
    assert directives["object-src"] == "'none'" and directives["base-uri"] == "'none'"
    assert "connect-src 'self'" in csp and "frame-ancestors 'none'" in csp
    assert headers["x-content-type-options"] == "nosniff"
    assert headers["referrer-policy"] == "no-referrer"


@pytest.mark.parametrize(
    "path",
    [
        "/../pyproject.toml",
        "/%2e%2e/%2e%2e/pyproject.toml",
        "/assets/..%2f..%2f..%2fpyproject.toml",
        "/..%5c..%5cpyproject.toml",
        "//etc/passwd",
        "/%2fetc%2fpasswd",
        "/assets/%00.js",
    ],
)
def test_static_files_cannot_escape_the_bundle(shared: str, path: str) -> None:
    status, _, body = http_request(shared, path)
    assert status in (400, 404), (path, status)
    assert b"[tool" not in body and b"root:" not in body


# -- authentication ----------------------------------------------------------------


def _cookie(headers: dict[str, str]) -> str:
    return headers["set-cookie"].split(";")[0]


def test_exposed_server_requires_the_launch_token() -> None:
    chat = ChatApp()
    token = chat.server.guard.expose()  # what run_app does for a non-loopback host
    assert token and len(token) >= 32
    with live_server(chat) as url:
        assert http_request(url, "/")[0] == 401
        assert http_request(url, "/?token=wrong")[0] == 401
        assert http_request(url, "/assets/app.js")[0] == 401
        assert not RawSocket(url).connected

        status, headers, _ = http_request(url, f"/?token={token}")
        assert status == 303 and headers["location"] == "/"  # the token leaves the address bar
        set_cookie = headers["set-cookie"]
        assert "HttpOnly" in set_cookie and "SameSite=Strict" in set_cookie
        assert token not in set_cookie
        cookie = _cookie(headers)
        assert http_request(url, "/", headers={"Cookie": cookie})[0] == 200

        s = RawSocket(url, cookie=cookie)
        try:
            assert s.connected
            assert s.wait_event("config")["title"] == "gptchat"
        finally:
            s.close()
        refused = RawSocket(url, cookie="gptchat_session=forged")
        assert not refused.connected and "not signed in" in (refused.refusal or "")


def test_password_auth_shows_a_form_and_guards_the_socket() -> None:
    chat = ChatApp(auth="correct horse")
    with live_server(chat) as url:
        status, headers, body = http_request(url, "/")
        assert status == 401 and b'type="password"' in body
        assert "content-security-policy" in headers
        status, _, body = http_request(url, "/", method="POST", body="password=wrong")
        assert status == 401 and b"Wrong password" in body
        assert not RawSocket(url).connected
        status, headers, _ = http_request(url, "/", method="POST", body="password=correct+horse")
        assert status == 303
        cookie = _cookie(headers)
        assert http_request(url, "/", headers={"Cookie": cookie})[0] == 200
        s = RawSocket(url, cookie=cookie)
        s.close()
        assert s.connected


def test_callable_auth_decides_for_pages_and_socket() -> None:
    def auth(request: Request) -> bool:
        return request.headers.get("X-Team-Key") == "k-123"

    chat = ChatApp(auth=auth)
    with live_server(chat) as url:
        assert http_request(url, "/")[0] == 401
        assert http_request(url, "/", headers={"X-Team-Key": "k-123"})[0] == 200
        assert not RawSocket(url).connected
        s = RawSocket(url, headers=["X-Team-Key: k-123"])
        s.close()
        assert s.connected


def test_run_app_on_a_public_host_prints_a_token_url_and_warns(
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> None:
    import werkzeug.serving

    servers: list[Any] = []
    real_make_server = werkzeug.serving.make_server

    def loopback_make_server(host: str, port: int, app: Any, **kwargs: Any) -> Any:
        # Pretend to bind every interface, but stay on loopback for the test.
        srv = real_make_server("127.0.0.1", 0, app, **kwargs)
        servers.append(srv)
        return srv

    monkeypatch.setattr(werkzeug.serving, "make_server", loopback_make_server)
    chat = ChatApp()
    chat.handle_send_message(lambda messages: None)
    thread = threading.Thread(target=chat.run_app, kwargs={"host": "0.0.0.0", "port": 0})
    out = ""
    with caplog.at_level(logging.WARNING, logger="gptchat"):
        thread.start()
        try:
            for _ in range(200):
                out += capsys.readouterr().out
                if "token=" in out:
                    break
                thread.join(0.025)
            assert servers, "run_app did not start a server"
            url = f"http://127.0.0.1:{servers[0].server_port}"
            token = chat.server.guard.token
            assert token is not None and f"/?token={token}" in out
            assert http_request(url, "/")[0] == 401
            assert http_request(url, f"/?token={token}")[0] == 303
        finally:
            if servers:
                servers[0].shutdown()
            thread.join(5)
    assert "every network interface" in caplog.text and "API keys" in caplog.text


def test_debug_never_enables_the_werkzeug_debugger(shared: str) -> None:
    status, _, body = http_request(shared, "/?__debugger__=yes&cmd=resource&f=style.css")
    assert status == 200 and b"Werkzeug" not in body and b"debugger" not in body


# -- image URLs in user messages ----------------------------------------------------------

PIXEL_PNG = (
    "data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAE"
    "hQGAhKmMIQAAAABJRU5ErkJggg=="
)


def _with_image(url: str) -> dict[str, Any]:
    question = "What does this chart of CSV deduplication times show? " + MODEL_REPLY[:400]
    return {
        "conversation_id": "conv-image-0001",
        "messages": [
            {"id": "u0", "message": {"role": "user", "content": "Compare dedupe methods."}},
            {"id": "a0", "message": {"role": "assistant", "content": MODEL_REPLY}},
            {
                "id": "u1",
                "message": {
                    "role": "user",
                    "content": [
                        {"type": "text", "text": question},
                        {"type": "image_url", "image_url": {"url": url, "detail": "low"}},
                    ],
                },
            },
        ],
    }


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("javascript:alert(document.cookie)", "scheme 'javascript' is not allowed"),
        ("JavaScript:alert(1)", "scheme 'javascript' is not allowed"),
        ("java\tscript:alert(1)", "spaces or control characters"),
        (" javascript:alert(1)", "spaces or control characters"),
        ("vbscript:msgbox(1)", "scheme 'vbscript' is not allowed"),
        ("file:///etc/passwd", "scheme 'file' is not allowed"),
        ("blob:http://127.0.0.1/0b1c", "scheme 'blob' is not allowed"),
        ("//evil.example/a.png", "scheme none is not allowed"),
        ("https:///no-host.png", "https image URL has no host"),
        (
            "data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==",
            "'text/html' is not allowed",
        ),
        (
            "data:image/svg+xml;base64,PHN2ZyBvbmxvYWQ9YWxlcnQoMSk+PC9zdmc+",
            "'image/svg+xml' is not allowed",
        ),
        ("data:image/png,not-base64", "is not image/png;base64"),
        ("data:image/png;base64,@@@", "is not image/png;base64"),
    ],
)
def test_unsafe_image_urls_are_refused_naming_the_field(
    chat: ChatApp, client: SocketClient, url: str, why: str
) -> None:
    calls: list[Any] = []
    chat.handle_send_message(lambda messages: calls.append(messages))
    client.emit("send_message", _with_image(url))
    error = client.wait_event("error")
    assert error["code"] == "invalid_payload"
    assert error["conversation_id"] == "conv-image-0001"
    assert error["message"].startswith(
        "send_message: messages.2.message.content.1.image_url.url: "
    ), error["message"]
    assert why in error["message"]
    assert "(and" not in error["message"]  # the union's other branch is not counted
    client.emit("send_message", _with_image(PIXEL_PNG))
    assert client.wait_event("run_finished")["status"] == "done"
    assert len(calls) == 1  # the handler never saw the refused conversation


@pytest.mark.parametrize(
    "url",
    [
        PIXEL_PNG,
        "data:image/jpeg;base64,/9j/4AAQSkZJRgABAQ==",
        "data:image/webp;base64,UklGRhoAAABXRUJQVlA4TA0AAAAvAAAAEAcQERGIiP4HAA==",
        "data:image/gif;base64,R0lGODlhAQABAAAAACw=",
        "https://upload.wikimedia.org/wikipedia/commons/4/47/PNG_transparency_demonstration_1.png",
        "HTTP://127.0.0.1:8000/chart.png?size=large",
    ],
)
def test_http_and_image_data_urls_reach_the_handler(
    chat: ChatApp, client: SocketClient, url: str
) -> None:
    seen: list[str] = []

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> str:
        seen.append(messages[-1]["content"][1]["image_url"]["url"])
        return MODEL_REPLY

    client.emit("send_message", _with_image(url))
    assert client.wait_event("run_finished")["status"] == "done"
    assert seen == [url]
