"""gptchat under a real gunicorn: the threaded worker, the launch token, SIGTERM mid-reply.

Each test starts gunicorn as a subprocess (``tests/gunicorn_server.py``) serving
``tests/serving_app.py`` and talks to it with a real python-socketio client.
"""

from __future__ import annotations

import time

import pytest

from tests.gunicorn_server import SECRET, TOKEN, Gunicorn
from tests.serving_app import expected
from tests.support import SocketClient, fold_messages, http_request, send


def signed_in_cookie(base: str) -> str:
    """Exchange the launch token for the session cookie; the Cookie header to send."""
    status, headers, _ = http_request(base, f"/?token={TOKEN}")
    assert status == 303, (status, headers)
    return headers["set-cookie"].split(";", 1)[0]


def reply_text(client: SocketClient) -> str:
    (message,) = fold_messages(client.named("message_delta")).values()
    return str(message["content"])


def test_the_plain_gunicorn_command_serves_a_chat_app() -> None:
    # The command of the issue, without gptchat's config: the ChatApp is the WSGI app.
    args = ["-w", "1", "--threads", "100"]
    with Gunicorn.start(config=False, args=args) as g:
        status, _, body = http_request(g.url, "/")
        assert status == 200 and b"<script" in body
        client = SocketClient(g.url)
        try:
            send(client, "stream 20 0", "conv-plain-gunicorn-01")
            done = client.wait_event("run_finished", conversation_id="conv-plain-gunicorn-01")
            assert done["status"] == "done"
            assert reply_text(client).endswith(expected(20))
        finally:
            client.close()


def test_gptchat_config_exposes_the_app_behind_its_launch_token() -> None:
    with Gunicorn.start() as g:
        # A proxy may stand in front: the app asks for the token, as when bound beyond loopback.
        status, _, body = http_request(g.url, "/")
        assert status == 401 and b"access token" in body
        assert "open it (through your proxy) with ?token=" + TOKEN in g.output
        cookie = signed_in_cookie(g.url)
        status, headers, _ = http_request(g.url, "/", headers={"Cookie": cookie})
        assert status == 200 and headers["cache-control"] == "no-cache"
        client = SocketClient(g.url, headers={"Cookie": cookie})
        try:
            send(client, "stream 30 0", "conv-gunicorn-token-01")
            done = client.wait_event("run_finished", conversation_id="conv-gunicorn-token-01")
            assert done["status"] == "done"
            assert reply_text(client).endswith(expected(30))
        finally:
            client.close()


def test_sigterm_mid_reply_lets_it_finish_then_exits_at_once() -> None:
    # graceful_timeout 10 s: 10 - 5 (shutdown_timeout) - 2 leaves 3 s to finish replies.
    with Gunicorn.start(graceful_timeout=10) as g:
        client = SocketClient(g.url, headers={"Cookie": signed_in_cookie(g.url)})
        try:
            send(client, "stream 15 0.1", "conv-sigterm-finish-01")  # 1.5 s of reply
            client.wait_event("message_delta", conversation_id="conv-sigterm-finish-01")
            t0 = time.monotonic()
            g.terminate()
            done = client.wait_event("run_finished", conversation_id="conv-sigterm-finish-01")
            assert done["status"] == "done", done
            assert reply_text(client).endswith(expected(15))
            # Then the worker closes the socket, so the tab would reconnect elsewhere...
            assert client.disconnected.wait(5)
            g.proc.wait(timeout=5)
            # ...and gunicorn is gone well before it would have killed its worker (10 s).
            took = time.monotonic() - t0
        finally:
            client.close()
        assert g.proc.returncode == 0, g.output
        assert took < 5, f"exited {took:.1f} s after SIGTERM:\n{g.output}"


def test_sigterm_stops_a_reply_too_long_to_wait_for_and_tells_the_tab() -> None:
    with Gunicorn.start(graceful_timeout=10) as g:
        client = SocketClient(g.url, headers={"Cookie": signed_in_cookie(g.url)})
        try:
            send(client, "stream 200 0.05", "conv-sigterm-stop-01")  # 10 s of reply
            client.wait_event("message_delta", conversation_id="conv-sigterm-stop-01")
            t0 = time.monotonic()
            g.terminate()
            done = client.wait_event(
                "run_finished", timeout=9, conversation_id="conv-sigterm-stop-01"
            )
            took = time.monotonic() - t0
            # Stopped, not cut: its text so far is there, in order, with no gap.
            assert done["status"] == "stopped", done
            text = reply_text(client)
            words = text.split("] ", 1)[1].split()
            assert words == [f"w{i}" for i in range(len(words))] and 40 < len(words) < 200
            assert 2.5 < took < 8, took
            g.proc.wait(timeout=5)
        finally:
            client.close()
        assert g.proc.returncode == 0, g.output


def test_a_shared_secret_gives_every_guard_one_cookie_and_token(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from gptchat._auth import Guard
    from gptchat._settings import Settings

    monkeypatch.setenv("GPTCHAT_SECRET_KEY", "x" * 15)
    with pytest.raises(ValueError, match="too short"):
        Guard.from_settings(Settings())
    monkeypatch.setenv("GPTCHAT_SECRET_KEY", SECRET)
    monkeypatch.setenv("GPTCHAT_ALLOWED_HOSTS", " chat.example.com, ,other.example:8443")
    one, two = Guard.from_settings(Settings()), Guard.from_settings(Settings())
    assert one.expose() == two.expose() == TOKEN
    assert one._session == two._session
    assert one.host_allowed("chat.example.com") and one.host_allowed("other.example")
    assert not one.host_allowed("evil.example")
    monkeypatch.delenv("GPTCHAT_SECRET_KEY")
    assert Guard.from_settings(Settings()).expose() != TOKEN  # random, per process


def wrong_passwords(base: str, address: str, tries: int) -> int:
    """``tries`` wrong passwords with ``X-Forwarded-For: address``; the last status."""
    status = 0
    for _ in range(tries):
        status, _, _ = http_request(
            base,
            "/",
            method="POST",
            headers={"X-Forwarded-For": address},
            body="password=wrong",
        )
    return status


@pytest.mark.parametrize("trusted", [False, True])
def test_x_forwarded_for_counts_only_when_gunicorn_is_told_to_trust_it(trusted: bool) -> None:
    env = {"GPTCHAT_TEST_AUTH": "password:the right one"}
    if trusted:
        env["GPTCHAT_TRUSTED_PROXIES"] = "1"
    with Gunicorn.start(env=env) as g:
        assert wrong_passwords(g.url, "203.0.113.5", 5) == 429  # that address is locked out
        other = wrong_passwords(g.url, "203.0.113.6", 1)
    # Trusted, the header names the client; not trusted, both are the proxy, 127.0.0.1.
    assert other == (401 if trusted else 429)
