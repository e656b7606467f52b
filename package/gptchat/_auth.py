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
"""

from __future__ import annotations

import html
import secrets
import socket
import time
from collections.abc import Callable, Iterable
from typing import Final
from urllib.parse import urlsplit

from flask import Request, Response

#: A developer's own check: called with the Flask request, returns whether to let it in.
AuthCallable = Callable[[Request], bool]
#: ``auth=``: a password, a callable, or None.
Auth = str | AuthCallable | None

COOKIE: Final = "gptchat_session"
LOOPBACK_NAMES: Final = frozenset({"localhost", "127.0.0.1", "[::1]", "::1"})

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


class Guard:
    """The Host, Origin and authentication rules of one server."""

    def __init__(
        self,
        *,
        auth: Auth = None,
        allowed_hosts: Iterable[str] = (),
        allowed_origins: Iterable[str] = (),
    ) -> None:
        self.loopback_only = True
        self.token: str | None = None
        self._session = secrets.token_urlsafe(32)
        self._auth: Auth = None
        self.set_auth(auth)
        self.allowed_hosts = frozenset(host_name(h) for h in allowed_hosts)
        self.allowed_origins = normalize_origins(allowed_origins)

    def set_auth(self, auth: Auth) -> None:
        """Require a password, or let a callable decide; None for neither."""
        if isinstance(auth, str) and not auth:
            raise ValueError("auth: the password must not be empty")
        if auth is not None and not isinstance(auth, str) and not callable(auth):
            raise TypeError("auth must be a password (str), a callable(request) -> bool, or None")
        self._auth = auth

    def expose(self) -> str | None:
        """Serve beyond loopback; returns the launch token if one is needed."""
        self.loopback_only = False
        if self._auth is None and self.token is None:
            self.token = secrets.token_urlsafe(24)
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
        if not self.needs_login:
            return True
        if callable(self._auth):
            return bool(self._auth(request))
        cookie = request.cookies.get(COOKIE, "")
        return secrets.compare_digest(cookie.encode(), self._session.encode())

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
            message = ""
            if request.method == "POST" and "password" in request.form:
                given = request.form.get("password", "")
                if secrets.compare_digest(given.encode(), self._auth.encode()):
                    return self._signed_in(request)
                time.sleep(0.5)  # slow down guessing
                message = "<p>Wrong password.</p>"
            page = _LOGIN_PAGE.format(title=html.escape(title), message=message)
            return Response(page, status=401, mimetype="text/html")
        return Response("Unauthorized\n", status=401, mimetype="text/plain")

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
