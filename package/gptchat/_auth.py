"""Who may talk to the server: Host and Origin checks, and authentication.

Three ways in, checked on every HTTP request and on the Socket.IO connect:

* bound to loopback with no ``auth``: anyone on this machine (the Host check
  stops DNS rebinding, the Origin check stops other web pages);
* ``auth`` given: a password (a login form, then a session cookie) or a
  callable that decides from the Flask request;
* exposed beyond loopback with no ``auth``: a token generated at launch and
  printed in the launch URL, exchanged once for the session cookie.

The session cookie is HttpOnly and SameSite=Strict; its value is a random
secret of this server process, so restarting the server logs everybody out.
Several processes behind one address share a secret instead
(``$GPTCHAT_SECRET_KEY``): the cookie and the launch token are derived from
it, so a tab signed in through one process is signed in on every other, and
changing the secret logs everybody out.

Behind a reverse proxy the Host header is the proxy's to pass on (nginx:
``proxy_set_header Host $http_host``); more names the server answers to can be
given in ``$GPTCHAT_ALLOWED_HOSTS`` (comma separated) as well as
``allowed_hosts=``. No ``X-Forwarded-*`` header is trusted here: gunicorn
takes ``X-Forwarded-Proto`` from the peers in its ``forwarded_allow_ips``
(loopback by default), and ``X-Forwarded-For`` counts only when
``gptchat.gunicorn_conf`` is told how many proxies set it
(``$GPTCHAT_TRUSTED_PROXIES``).

Password guessing is limited per client address (:class:`LoginThrottle`): a
few free tries, then lock-outs that double with each further wrong password.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import html
import ipaddress
import logging
import math
import os
import secrets
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Final
from urllib.parse import urlsplit

from flask import Request, Response

from ._settings import Settings

#: A developer's own check: called with the Flask request, returns whether to let it in,
#: or the id of the user it is (a ``str``: one server, many people, each their own history).
AuthCallable = Callable[[Request], bool | str | None]
#: ``auth=``: a password, a callable, or None.
Auth = str | AuthCallable | None

log = logging.getLogger("gptchat")

COOKIE: Final = "gptchat_session"
#: The user of a server with no ``auth``, a password or a launch token: one person.
LOCAL_USER: Final = "local"
#: The longest user id an ``auth`` callable may return.
USER_ID_MAX: Final = 256
LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})
#: The secret the processes of one deployment share (see the module's docstring).
SECRET_ENV: Final = "GPTCHAT_SECRET_KEY"
#: More Host names the server answers to, comma separated, added to ``allowed_hosts``.
ALLOWED_HOSTS_ENV: Final = "GPTCHAT_ALLOWED_HOSTS"
#: The shortest secret taken: a guessable one would let anyone mint the session cookie.
SECRET_MIN: Final = 16

_TOKEN_HELP = (
    "This gptchat server is exposed beyond this machine and needs its access token.\n"
    "Open the link printed in the terminal where it was started (it ends in ?token=...).\n"
)

_LOGIN_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>{title} · sign in</title>
<meta name="viewport" content="width=device-width, initial-scale=1">
<style>body{{font:16px system-ui,sans-serif;display:grid;place-items:center;height:90vh}}
form{{display:grid;gap:.6em;min-width:16em}}p{{color:#b00020;margin:0}}</style></head>
<body><form method="post"><h1>{title}</h1>{message}
<input type="password" name="password" placeholder="Password" autofocus required
 autocomplete="current-password"
 aria-label="Password"><button type="submit">Sign in</button></form></body></html>
"""


def derive(secret: str, purpose: str) -> str:
    """A value for ``purpose`` that every process holding ``secret`` computes alike.

    HMAC-SHA256, URL-safe: the session cookie and the launch token of several
    processes come from their one shared secret, and neither reveals it.

    Example::

        derive("a shared secret of 16+ chars", "session")  # "Xq3...", 43 characters
    """
    digest = hmac.new(secret.encode(), f"gptchat {purpose}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).decode().rstrip("=")


def env_secret() -> str | None:
    """``$GPTCHAT_SECRET_KEY``, or None when it is unset or empty.

    :raises ValueError: for a secret shorter than 16 characters.
    """
    secret = os.environ.get(SECRET_ENV, "")
    if not secret:
        return None
    if len(secret) < SECRET_MIN:
        raise ValueError(
            f"${SECRET_ENV} is too short: give at least {SECRET_MIN} random characters, "
            "e.g. python -c 'import secrets; print(secrets.token_urlsafe(32))'"
        )
    return secret


def env_allowed_hosts() -> list[str]:
    """The names in ``$GPTCHAT_ALLOWED_HOSTS`` (comma separated, blanks ignored)."""
    return [h.strip() for h in os.environ.get(ALLOWED_HOSTS_ENV, "").split(",") if h.strip()]


def host_name(host: str) -> str:
    """The name part of a Host header, lower-cased, without the port."""
    host = host.strip().lower()
    if host.startswith("["):
        return host.split("]")[0] + "]"
    return host.rsplit(":", 1)[0] if ":" in host else host


def normalize_origins(origins: Iterable[str]) -> frozenset[str]:
    """Check an origin allowlist: exact ``scheme://host[:port]`` entries only.

    :raises ValueError: for ``*``, ``null``, a path, or anything not an origin.
    """
    if isinstance(origins, str):
        raise TypeError("allowed_origins takes a list of origins, not one string")
    result = set()
    for origin in origins:
        if not isinstance(origin, str):
            raise TypeError(f"allowed_origins: {origin!r} is not a string")
        parts = urlsplit(origin)
        if (
            origin in ("*", "null")
            or "*" in origin
            or parts.scheme not in ("http", "https")
            or not parts.netloc
            or parts.path not in ("", "/")
            or parts.query
            or parts.fragment
            or "@" in parts.netloc
        ):
            raise ValueError(
                f"allowed_origins: {origin!r} is not an exact origin such as "
                "'https://chat.example.com' (no '*', no 'null', no path)"
            )
        result.add(f"{parts.scheme}://{parts.netloc.lower()}")
    return frozenset(result)


def client_address(remote_addr: str | None) -> str:
    """The key password tries are counted under: the IP address, an IPv6 one by its /64.

    One IPv6 host usually holds a whole /64 and could pick a fresh address per
    guess. ``remote_addr`` is the TCP peer (Werkzeug's ``REMOTE_ADDR``): behind
    a reverse proxy it is the proxy, unless the developer installs
    ``werkzeug.middleware.proxy_fix.ProxyFix`` to trust its ``X-Forwarded-For``.
    """
    if not remote_addr:
        return "unknown"
    try:
        ip = ipaddress.ip_address(remote_addr.strip("[]"))
    except ValueError:
        return remote_addr[:64]
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False))
    return str(ip)


@dataclass
class _Tries:
    failures: int = 0
    locked_until: float = 0.0
    last: float = 0.0
    logged: float = 0.0  # the locked_until already logged: one line per lock-out


class LoginThrottle:
    """Wrong passwords per client address: free tries, then doubling lock-outs.

    The ``free_tries``-th wrong password in a row locks the address out for
    ``first_lockout`` seconds, and each wrong one after a lock-out doubles it,
    up to ``max_lockout`` (defaults: 5 tries, then 1, 2, 4 ... 60 minutes).
    While locked out an address may not try at all, not even with the right
    password, or the lock-out would only slow guessing down. The right password
    clears the address's count.
    Other addresses are not affected, so an attacker cannot lock the real user
    out unless both share an address (a reverse proxy: see :func:`client_address`).

    Memory is bounded: an address is forgotten ``forget_after`` seconds after
    its last try, and beyond ``max_addresses`` the least recently seen goes
    first, so a flood of distinct addresses cannot grow it.

    :param clock: seconds, monotonic; tests pass their own to skip the waiting.
    """

    def __init__(
        self,
        *,
        free_tries: int = Settings.login_free_tries,
        first_lockout: float = Settings.login_first_lockout,
        max_lockout: float = Settings.login_max_lockout,
        forget_after: float = Settings.login_forget_after,
        max_addresses: int = Settings.login_max_addresses,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if free_tries < 1 or not 0 < first_lockout <= max_lockout:
            raise ValueError(
                "LoginThrottle: need free_tries >= 1 and 0 < first_lockout <= max_lockout"
            )
        if max_addresses < 1 or forget_after < max_lockout:
            raise ValueError(
                "LoginThrottle: need max_addresses >= 1 and forget_after >= max_lockout"
            )
        self.free_tries = free_tries
        self.first_lockout = first_lockout
        self.max_lockout = max_lockout
        self.forget_after = forget_after
        self.max_addresses = max_addresses
        self._clock = clock
        self._tries: OrderedDict[str, _Tries] = OrderedDict()
        self._lock = threading.Lock()

    @classmethod
    def from_settings(
        cls, settings: Settings, clock: Callable[[], float] = time.monotonic
    ) -> LoginThrottle:
        """The throttle that ``settings``' ``login_*`` fields describe."""
        return cls(
            free_tries=settings.login_free_tries,
            first_lockout=settings.login_first_lockout,
            max_lockout=settings.login_max_lockout,
            forget_after=settings.login_forget_after,
            max_addresses=settings.login_max_addresses,
            clock=clock,
        )

    def __len__(self) -> int:
        """Addresses remembered now."""
        with self._lock:
            return len(self._tries)

    def wait(self, address: str) -> float:
        """Seconds ``address`` is still locked out for; 0 if it may try now."""
        with self._lock:
            tries = self._tries.get(address)
            return max(0.0, tries.locked_until - self._clock()) if tries else 0.0

    def attempt(self, address: str) -> float:
        """Start one password try: 0 to go ahead, else the seconds still locked out.

        The try counts as wrong from here on, so that many requests sent at once
        cannot all slip in before the first answer; :meth:`succeeded` undoes it.
        """
        with self._lock:
            now = self._clock()
            self._expire(now)
            tries = self._tries.get(address)
            if tries is None:
                tries = self._tries[address] = _Tries()
                while len(self._tries) > self.max_addresses:
                    self._tries.popitem(last=False)
            self._tries.move_to_end(address)
            tries.last = now
            if tries.locked_until > now:
                return tries.locked_until - now
            tries.failures += 1
            if tries.failures >= self.free_tries:
                doublings = min(tries.failures - self.free_tries, 32)
                lockout = min(self.max_lockout, self.first_lockout * 2.0**doublings)
                tries.locked_until = now + lockout
            return 0.0

    def failed(self, address: str) -> float:
        """The try :meth:`attempt` started was wrong: the lock-out it caused, or 0.

        Logs each lock-out as a warning naming the address (never the password).
        """
        with self._lock:
            tries = self._tries.get(address)
            if tries is None or tries.locked_until <= self._clock():
                return 0.0
            lockout = tries.locked_until - self._clock()
            failures = tries.failures
            new = tries.logged != tries.locked_until
            tries.logged = tries.locked_until
        if new:
            log.warning(
                "sign-in: %s is locked out for %s after %d wrong passwords",
                address,
                duration(lockout),
                failures,
            )
        return lockout

    def succeeded(self, address: str) -> None:
        """The right password: forget the address's wrong ones."""
        with self._lock:
            self._tries.pop(address, None)

    def _expire(self, now: float) -> None:
        # Kept in the order of their last try, so the stale ones are at the front.
        while self._tries:
            tries = next(iter(self._tries.values()))
            if now - tries.last < self.forget_after or tries.locked_until > now:
                break
            self._tries.popitem(last=False)


def duration(seconds: float) -> str:
    """``seconds`` rounded up, in words: "45 seconds", "1 minute", "4 minutes"."""
    if seconds <= 59:
        whole = max(1, math.ceil(seconds))
        return f"{whole} second{'s' if whole != 1 else ''}"
    minutes = math.ceil(seconds / 60)
    return f"{minutes} minute{'s' if minutes != 1 else ''}"


class Guard:
    """The Host, Origin and authentication rules of one server."""

    def __init__(
        self,
        *,
        auth: Auth = None,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
        throttle: LoginThrottle | None = None,
        secret: str | None = None,
    ) -> None:
        self.loopback_only = True
        #: Limits password guessing; replace it to change the policy (or the clock).
        self.throttle = throttle or LoginThrottle()
        self.token: str | None = None
        self._secret = secret
        self._session = derive(secret, "session") if secret else secrets.token_urlsafe(32)
        self._auth: Auth = None
        self.set_auth(auth)
        self.allowed_hosts = frozenset(host_name(h) for h in allowed_hosts)
        self.allowed_origins = normalize_origins(allowed_origins)

    @classmethod
    def from_settings(cls, settings: Settings) -> Guard:
        """The guard for ``settings``: its auth, hosts, origins and login throttle.

        Also reads the environment: ``$GPTCHAT_ALLOWED_HOSTS`` adds to the hosts,
        ``$GPTCHAT_SECRET_KEY`` is the shared secret (see the module's docstring).
        """
        return cls(
            auth=settings.auth,
            allowed_hosts=[*settings.allowed_hosts, *env_allowed_hosts()],
            allowed_origins=settings.allowed_origins,
            throttle=LoginThrottle.from_settings(settings),
            secret=env_secret(),
        )

    def set_auth(self, auth: Auth) -> None:
        """Require a password, or let a callable decide; None for neither."""
        if isinstance(auth, str) and not auth:
            raise ValueError("auth: the password must not be empty")
        if auth is not None and not isinstance(auth, str) and not callable(auth):
            raise TypeError(
                "auth must be a password (str), a callable(request) -> bool or user id, or None"
            )
        self._auth = auth

    def expose(self) -> str | None:
        """Serve beyond loopback; returns the launch token if one is needed."""
        self.loopback_only = False
        if self._auth is None and self.token is None:
            # With a shared secret every process hands out the same token.
            self.token = (
                derive(self._secret, "launch token")[:32]
                if self._secret
                else secrets.token_urlsafe(24)
            )
        return self.token if self._auth is None else None

    @property
    def auth(self) -> Auth:
        """The developer's password or callable, if any."""
        return self._auth

    @property
    def needs_login(self) -> bool:
        """Whether requests must prove who they are."""
        return self._auth is not None or self.token is not None

    # -- checks ----------------------------------------------------------------

    def host_allowed(self, host: str | None) -> bool:
        """Whether a request's Host names this server (the DNS-rebinding guard).

        On loopback, only loopback names and ``allowed_hosts``; exposed, any
        Host unless ``allowed_hosts`` was given.
        """
        if not host:
            return False
        name = host_name(host)
        if self.loopback_only:
            return name in LOOPBACK_NAMES or name in self.allowed_hosts
        return not self.allowed_hosts or name in self.allowed_hosts

    def origin_allowed(self, origin: str | None, host: str | None) -> bool:
        """Same origin as ``host``, or exactly one of ``allowed_origins``.

        A request with no Origin is not from a web page (browsers always send
        one on WebSocket and cross-origin requests) and passes; ``null`` never.
        """
        if origin is None:
            return True
        origin = origin.strip().lower()
        if origin in self.allowed_origins:
            return True
        if not host:
            return False
        return origin in (f"http://{host.lower()}", f"https://{host.lower()}")

    def authenticated(self, request: Request) -> bool:
        """Whether ``request`` carries the session cookie or passes ``auth``."""
        return self.user_id(request) is not None

    def user_id(self, request: Request) -> str | None:
        """Who ``request`` comes from; None if it may not come in.

        :data:`LOCAL_USER` with no ``auth``, with a password or a launch token
        (one person); with an ``auth`` callable, the ``str`` it returns (its
        user id), :data:`LOCAL_USER` for ``True``, None for anything false.

        Example::

            Guard(auth=lambda r: r.headers.get("X-User")).user_id(request)  # "alice"
        """
        if not self.needs_login:
            return LOCAL_USER
        if callable(self._auth):
            answer = self._auth(request)
            if isinstance(answer, str):
                if len(answer) > USER_ID_MAX:
                    log.warning("auth returned a user id over %d characters: refused", USER_ID_MAX)
                    return None
                return answer or None
            return LOCAL_USER if answer else None
        cookie = request.cookies.get(COOKIE, "")
        if secrets.compare_digest(cookie.encode(), self._session.encode()):
            return LOCAL_USER
        return None

    # -- responses -------------------------------------------------------------

    def login(self, request: Request, title: str) -> Response | None:
        """Answer a request that is not (yet) authenticated; None lets it through."""
        if self.authenticated(request):
            return None
        if self.token is not None and self._auth is None:
            given = request.args.get("token", "")
            if given and secrets.compare_digest(given.encode(), self.token.encode()):
                return self._signed_in(request)
            return Response(_TOKEN_HELP, status=401, mimetype="text/plain")
        if isinstance(self._auth, str):
            return self._password_login(request, self._auth, title)
        return Response("Unauthorized\n", status=401, mimetype="text/plain")

    def _password_login(self, request: Request, password: str, title: str) -> Response:
        address = client_address(request.remote_addr)
        message = ""
        if request.method == "POST" and "password" in request.form:
            wait = self.throttle.attempt(address)
            if not wait:
                given = request.form.get("password", "")
                if secrets.compare_digest(given.encode(), password.encode()):
                    self.throttle.succeeded(address)
                    return self._signed_in(request)
                wait = self.throttle.failed(address)
                message = "Wrong password."
        else:
            wait = self.throttle.wait(address)
        if wait:
            message = f"Too many wrong passwords. Try again in {duration(wait)}."
        page = _LOGIN_PAGE.format(
            title=html.escape(title),
            message=f'<p role="alert">{html.escape(message)}</p>' if message else "",
        )
        response = Response(page, status=429 if wait else 401, mimetype="text/html")
        if wait:
            response.headers["Retry-After"] = str(math.ceil(wait))
        return response

    def _signed_in(self, request: Request) -> Response:
        # Redirect to the same path without the query, so the token leaves the address bar.
        response = Response(status=303, headers={"Location": request.path})
        response.set_cookie(
            COOKIE,
            self._session,
            httponly=True,
            samesite="Strict",
            secure=request.is_secure,
            path="/",
        )
        return response


def launch_host(host: str) -> str:
    """The name to show in the launch URL for a bind address."""
    if host in ("0.0.0.0", "::", ""):
        return socket.gethostname() or "localhost"
    return f"[{host}]" if ":" in host and not host.startswith("[") else host


def exposure_warning(host: str, port: int, guard: Guard) -> str:
    """What binding ``host`` exposes, said plainly for the terminal."""
    where = "every network interface" if host in ("0.0.0.0", "::", "") else host
    if guard.token is not None:
        who = "anyone who has the launch URL (with its token)"
    elif callable(guard.auth):
        who = "whoever your auth callable lets in"
    else:
        who = "anyone who knows the password"
    return (
        f"WARNING: gptchat is exposed on {where}, port {port}: {who} can chat with your "
        "handler, which runs with this process's API keys, files and network access. "
        "Traffic is plain HTTP; put a TLS proxy in front beyond a trusted network."
    )
