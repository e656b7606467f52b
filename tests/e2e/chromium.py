"""Debian's Chromium as the browser tests and the benchmark launch it (never downloaded)."""

from __future__ import annotations

import os

CHROMIUM = os.environ.get("GPTCHAT_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    # The page may reach loopback only; anything else fails fast (and visibly).
    "--host-resolver-rules=MAP * ~NOTFOUND , EXCLUDE localhost, EXCLUDE 127.0.0.1",
]
