"""The sign-in limiter at its interface: bounded memory, expiry, and what counts as one address."""

from __future__ import annotations

import pytest

from gptchat._auth import LoginThrottle, client_address, duration


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def fail(throttle: LoginThrottle, address: str, times: int = 1) -> None:
    for _ in range(times):
        if throttle.attempt(address) == 0:
            throttle.failed(address)


def address(i: int) -> str:
    return f"10.{i // 65536}.{i // 256 % 256}.{i % 256}"


def test_a_flood_of_distinct_addresses_cannot_grow_memory() -> None:
    throttle = LoginThrottle(max_addresses=100, clock=Clock())
    fail(throttle, address(0), 4)
    for i in range(1, 5_000):
        fail(throttle, address(i))
        assert len(throttle) <= 100
    assert len(throttle) == 100
    # The least recently seen went first; the latest are remembered.
    fail(throttle, address(4999), 4)
    assert throttle.wait(address(4999)) == 60
    fail(throttle, address(0))  # its four were forgotten: this is its first
    assert throttle.wait(address(0)) == 0


def test_addresses_are_forgotten_a_while_after_their_last_try() -> None:
    clock = Clock()
    throttle = LoginThrottle(forget_after=7200, clock=clock)
    fail(throttle, "192.0.2.1", 3)
    fail(throttle, "192.0.2.2", 5)  # locked out
    clock.now += 3600
    fail(throttle, "192.0.2.3")
    assert len(throttle) == 3
    clock.now += 3601  # two hours after the first two
    fail(throttle, "192.0.2.4")
    assert len(throttle) == 2
    # 192.0.2.1's three wrong passwords are forgotten: five more before a lock-out.
    fail(throttle, "192.0.2.1", 4)
    assert throttle.wait("192.0.2.1") == 0


def test_lockouts_double_up_to_the_cap() -> None:
    clock = Clock()
    throttle = LoginThrottle(first_lockout=60, max_lockout=3600, clock=clock)
    fail(throttle, "192.0.2.9", 5)
    waits = []
    for _ in range(8):
        waits.append(throttle.wait("192.0.2.9"))
        clock.now += waits[-1]
        fail(throttle, "192.0.2.9")
    assert waits == [60, 120, 240, 480, 960, 1920, 3600, 3600]


def test_success_clears_and_other_addresses_are_apart() -> None:
    throttle = LoginThrottle(clock=Clock())
    fail(throttle, "192.0.2.1", 4)
    throttle.attempt("192.0.2.1")
    throttle.succeeded("192.0.2.1")
    assert len(throttle) == 0
    fail(throttle, "192.0.2.1", 5)
    assert throttle.wait("192.0.2.1") == 60
    assert throttle.wait("192.0.2.2") == 0 and throttle.attempt("192.0.2.2") == 0


@pytest.mark.parametrize(
    ("remote", "key"),
    [
        ("127.0.0.1", "127.0.0.1"),
        ("::ffff:203.0.113.5", "203.0.113.5"),
        ("2001:db8:1:2:3:4:5:6", "2001:db8:1:2::/64"),
        ("2001:db8:1:2:ffff::1", "2001:db8:1:2::/64"),  # same /64: one address
        ("[::1]", "::/64"),
        (None, "unknown"),
    ],
)
def test_ipv6_addresses_count_by_their_64_prefix(remote: str | None, key: str) -> None:
    assert client_address(remote) == key


@pytest.mark.parametrize(
    ("seconds", "words"),
    [
        (0.2, "1 second"),
        (45, "45 seconds"),
        (59.5, "1 minute"),
        (60, "1 minute"),
        (61, "2 minutes"),
        (240, "4 minutes"),
        (3600, "60 minutes"),
    ],
)
def test_durations_read_naturally(seconds: float, words: str) -> None:
    assert duration(seconds) == words


def test_bad_settings_are_refused() -> None:
    with pytest.raises(ValueError, match="free_tries"):
        LoginThrottle(free_tries=0)
    with pytest.raises(ValueError, match="forget_after"):
        LoginThrottle(max_lockout=3600, forget_after=60)
