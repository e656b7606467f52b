"""A person's browser through nginx (``deploy/nginx.conf``) to two gunicorn processes.

Chromium opens the launch link through nginx, chats over the WebSocket nginx
forwards, and goes on chatting while the process that holds its socket is
stopped with SIGTERM mid-reply (one step of a rolling restart): the reply
finishes, the tab reconnects to the other process and its next reply comes from it.
"""

from __future__ import annotations

import re

from playwright.sync_api import Page, expect

from tests.e2e.chat_page import ChatPage
from tests.e2e.conftest import SCREENSHOTS
from tests.gunicorn_server import TOKEN, Gunicorn
from tests.nginx_server import NginxServer, nginx_available


def answering_pid(text: str) -> int:
    found = re.match(r"\[pid (\d+)\]", text)
    assert found, text
    return int(found.group(1))


def test_chat_through_nginx_survives_a_sigterm_of_its_process(page: Page) -> None:
    nginx_available()
    with (
        Gunicorn.start(graceful_timeout=10) as one,
        Gunicorn.start(graceful_timeout=10) as two,
        NginxServer.start([one.port, two.port]) as nginx,
    ):
        chat = ChatPage(page, f"{nginx.url}/?token={TOKEN}", SCREENSHOTS)
        chat.open()
        # The token went with the redirect: the address bar holds none.
        assert page.url == f"{nginx.url}/"
        chat.send("stream 30 0.01")
        chat.wait_idle()
        expect(chat.last_assistant()).to_contain_text("w29")
        first = answering_pid(chat.last_assistant().inner_text())
        holder = one if first in one.worker_pids() else two
        other = two if holder is one else one
        assert first in holder.worker_pids()

        chat.send("stream 20 0.08")  # 1.6 s of reply, within the 3 s drain
        expect(chat.last_assistant()).to_contain_text("w2 ")
        holder.terminate()
        chat.wait_idle()
        expect(chat.last_assistant()).to_contain_text("w19")
        expect(chat.last_assistant()).not_to_contain_text("stopped")
        holder.proc.wait(timeout=8)

        # The tab found the other process through nginx and chats on.
        chat.wait_connected()
        chat.send("stream 10 0")
        chat.wait_idle()
        expect(chat.last_assistant()).to_contain_text("w9")
        assert answering_pid(chat.last_assistant().inner_text()) in other.worker_pids()
        chat.screenshot("serving-through-nginx")
