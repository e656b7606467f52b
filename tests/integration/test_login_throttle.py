"""Password guessing against ``auth="password"``, over HTTP to a real server on loopback.

The test clock stands in for minutes of waiting. "Another address" is 127.0.0.2:
the whole of 127.0.0.0/8 is loopback on Linux, so a client can bind it as its
source address and the server sees it as ``REMOTE_ADDR``.
"""

from __future__ import annotations

import http.client
import logging
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from urllib.parse import quote, urlsplit

import pytest
from werkzeug.middleware.proxy_fix import ProxyFix

from gptchat import ChatApp
from gptchat._auth import LoginThrottle
from tests.support import RawSocket, live_server

PASSWORD = "correct horse battery staple"


class Clock:
    """A monotonic clock the test moves by hand."""

    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def chat(clock: Clock) -> ChatApp:
    chat = ChatApp(auth=PASSWORD)
    chat.server.guard.throttle = LoginThrottle(clock=clock)
    return chat


@pytest.fixture
def url(chat: ChatApp) -> Iterator[str]:
    with live_server(chat) as base:
        yield base


def sign_in(
    url: str, password: str, *, source: str = "127.0.0.1", headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], str]:
    """POST the sign-in form from ``source``; returns status, headers and body."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(
        parts.hostname or "127.0.0.1", parts.port, timeout=10, source_address=(source, 0)
    )
    try:
        conn.request(
            "POST",
            "/",
            body=f"password={quote(password)}",
            headers={"Content-Type": "application/x-www-form-urlencoded", **(headers or {})},
        )
        response = conn.getresponse()
        heads = {k.lower(): v for k, v in response.getheaders()}
        return response.status, heads, response.read().decode()
    finally:
        conn.close()


def guesses(n: int) -> list[str]:
    return [f"Tr0ub4dor&{i}" for i in range(n)]


def test_wrong_passwords_lock_the_address_out_then_the_lock_doubles(
    url: str, clock: Clock, caplog: pytest.LogCaptureFixture
) -> None:
    wrong = guesses(7)
    with caplog.at_level(logging.WARNING, logger="gptchat"):
        for guess in wrong[:4]:
            status, headers, body = sign_in(url, guess)
            assert status == 401 and "Wrong password." in body and "retry-after" not in headers
        status, headers, body = sign_in(url, wrong[4])  # the fifth: locked out for a minute
        assert status == 429 and headers["retry-after"] == "60"
        assert "Too many wrong passwords. Try again in 1 minute." in body
        assert 'type="password"' in body  # still the form, with the reason

        # While locked out, even the right password is refused: it is not even checked.
        status, headers, body = sign_in(url, PASSWORD)
        assert status == 429 and "Try again in 1 minute." in body and "set-cookie" not in headers
        clock.advance(40)
        status, headers, body = sign_in(url, wrong[5])
        assert status == 429 and headers["retry-after"] == "20"
        assert "Try again in 20 seconds." in body

        clock.advance(21)
        status, headers, body = sign_in(url, wrong[5])  # wrong again: two minutes
        assert status == 429 and headers["retry-after"] == "120"
        clock.advance(121)
        status, headers, body = sign_in(url, wrong[6])  # and again: four minutes
        assert status == 429 and "Too many wrong passwords. Try again in 4 minutes." in body

    lockouts = [r for r in caplog.records if "locked out" in r.getMessage()]
    assert [r.levelno for r in lockouts] == [logging.WARNING] * 3  # one line per lock-out
    assert all("127.0.0.1" in r.getMessage() for r in lockouts)
    assert "127.0.0.1 is locked out for 4 minutes after 7 wrong passwords" in caplog.text
    assert not any(guess in caplog.text for guess in wrong)
    assert PASSWORD not in caplog.text


def test_the_right_password_signs_in_and_clears_the_count(url: str, clock: Clock) -> None:
    for guess in guesses(4):
        assert sign_in(url, guess)[0] == 401
    status, headers, _ = sign_in(url, PASSWORD)
    assert status == 303
    cookie = headers["set-cookie"].split(";")[0]
    s = RawSocket(url, cookie=cookie)
    s.close()
    assert s.connected
    # The count started again: four more wrong ones are free.
    for guess in guesses(4):
        assert sign_in(url, guess)[0] == 401
    assert sign_in(url, "one too many")[0] == 429


def test_another_address_still_signs_in(url: str, chat: ChatApp) -> None:
    for guess in guesses(5):
        sign_in(url, guess)
    assert sign_in(url, PASSWORD)[0] == 429  # 127.0.0.1 is locked out
    status, headers, _ = sign_in(url, PASSWORD, source="127.0.0.2")
    assert status == 303 and "gptchat_session=" in headers["set-cookie"]
    # Its own wrong ones are counted apart.
    for guess in guesses(4):
        assert sign_in(url, guess, source="127.0.0.3")[0] == 401
    assert chat.server.guard.throttle.wait("127.0.0.3") == 0
    assert chat.server.guard.throttle.wait("127.0.0.1") > 0


def test_x_forwarded_for_is_ignored_unless_the_developer_trusts_a_proxy(chat: ChatApp) -> None:
    with live_server(chat) as url:
        for i, guess in enumerate(guesses(5)):
            # A client cannot dodge the lock-out by claiming another address.
            sign_in(url, guess, headers={"X-Forwarded-For": f"203.0.113.{i}"})
        forged = {"X-Forwarded-For": "198.51.100.7"}
        assert sign_in(url, PASSWORD, headers=forged)[0] == 429

    # Behind a reverse proxy the developer opts in with Werkzeug's ProxyFix: then the
    # proxy's X-Forwarded-For is the address, and one user's lock-out is not everyone's.
    proxied = ChatApp(auth=PASSWORD)
    proxied.flask_app.wsgi_app = ProxyFix(proxied.flask_app.wsgi_app, x_for=1)  # type: ignore[method-assign]
    with live_server(proxied) as url:
        for guess in guesses(5):
            sign_in(url, guess, headers={"X-Forwarded-For": "203.0.113.9"})
        assert sign_in(url, PASSWORD, headers={"X-Forwarded-For": "203.0.113.9"})[0] == 429
        assert sign_in(url, PASSWORD, headers={"X-Forwarded-For": "198.51.100.7"})[0] == 303
        assert proxied.server.guard.throttle.wait("203.0.113.9") > 0


def test_guesses_sent_at_once_cannot_slip_past_the_limit(url: str) -> None:
    barrier = threading.Barrier(20)

    def guess(i: int) -> int:
        barrier.wait(5)
        return sign_in(url, f"parallel-guess-{i}")[0]

    with ThreadPoolExecutor(20) as pool:
        statuses = list(pool.map(guess, range(20)))
    # Only the five free tries were checked; the other fifteen were refused unchecked.
    assert statuses.count(401) == 4 and statuses.count(429) == 16, statuses


def test_the_sign_in_page_says_when_a_locked_out_address_may_try_again(
    url: str, clock: Clock
) -> None:
    for guess in guesses(5):
        sign_in(url, guess)
    clock.advance(15)
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=10)
    conn.request("GET", "/")
    response = conn.getresponse()
    body = response.read().decode()
    conn.close()
    assert response.status == 429 and response.getheader("Retry-After") == "45"
    assert "Too many wrong passwords. Try again in 45 seconds." in body
