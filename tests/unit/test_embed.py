"""Mounting a chat into an existing Flask app (gptchat.embed), through Flask's test client."""

from __future__ import annotations

import pytest
from flask import Flask

from gptchat import ChatApp
from gptchat.embed import mount


def site() -> Flask:
    app = Flask("site")

    @app.get("/")
    def home() -> str:
        return "home"

    @app.get("/chatty")
    def chatty() -> str:
        return "not the chat"

    return app


def test_prefix_routes_to_the_chat_and_the_rest_to_the_site() -> None:
    host = site()
    chat = ChatApp()
    chat.set_config({"title": "Mounted"})
    chat.init_app(host, url_prefix="/chat/")
    client = host.test_client()
    assert client.get("/").text == "home"
    assert client.get("/chatty").text == "not the chat"
    redirect = client.get("/chat?x=1")
    assert (redirect.status_code, redirect.headers["Location"]) == (308, "/chat/?x=1")
    page = client.get("/chat/")
    assert page.status_code == 200 and "<title>Mounted</title>" in page.text
    assert client.get("/chat/no-such-file.js").status_code == 404
    # The web client opens its socket at the site root: that reaches the chat too.
    polling = client.get("/socket.io/?EIO=4&transport=polling")
    assert polling.status_code == 200 and polling.text.startswith("0{")


@pytest.mark.parametrize("prefix", ["/", "", "/a b", "/socket.io"])
def test_bad_prefixes_are_refused(prefix: str) -> None:
    with pytest.raises(ValueError, match="url_prefix"):
        mount(ChatApp(), site(), prefix)


def test_one_chat_per_site() -> None:
    host = site()
    ChatApp().init_app(host, "/one")
    with pytest.raises(ValueError, match="already holds a gptchat chat"):
        ChatApp().init_app(host, "/two")
