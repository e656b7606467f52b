"""Validation of ``set_config()`` and its translation into the browser's config."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError
from .protocol import ChatMessage, FunctionDisplay, UIConfig

#: URL paths under which a logo or favicon given as a file path is served.
LOGO_URL = "_gptchat/logo"
FAVICON_URL = "_gptchat/favicon"


class Config(BaseModel):
    """Everything ``set_config()`` accepts, with its defaults."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True)

    title: str = "gptchat"
    agent_name: str = "Assistant"
    placeholder: str = "Message"
    logo: str | None = None
    favicon: str | None = None
    starter_prompts: list[str] = Field(default_factory=list)
    allow_upload: bool = True
    #: Show the token usage under a reply (from streams' usage chunks).
    show_usage: bool = False
    #: Hostnames whose images load in replies; others show a placeholder to click.
    image_hosts: list[str] = Field(default_factory=list)
    messages: list[ChatMessage] = Field(default_factory=list)
    functions: dict[str, str | FunctionDisplay] = Field(default_factory=dict)


def update_config(current: Config, changes: Mapping[str, Any]) -> Config:
    """Return ``current`` with ``changes`` applied, or raise :class:`ConfigError`."""
    if not isinstance(changes, Mapping):
        raise ConfigError(f"set_config() takes a dict, not {type(changes).__name__}")
    unknown = sorted(set(changes) - set(Config.model_fields))
    if unknown:
        known = ", ".join(Config.model_fields)
        raise ConfigError(f"set_config(): unknown key {unknown[0]!r} (known keys: {known})")
    merged = current.model_dump() | dict(changes)
    try:
        config = Config.model_validate(merged)
    except ValidationError as exc:
        err = exc.errors()[0]
        where = ".".join(str(p) for p in err["loc"])
        raise ConfigError(f"set_config(): bad value for {where!r}: {err['msg']}") from None
    for host in config.image_hosts:
        if not _HOSTNAME.fullmatch(host):
            raise ConfigError(
                f"set_config(): 'image_hosts' takes hostnames like 'example.com', not {host!r}"
            )
    for key in ("logo", "favicon"):
        value = getattr(config, key)
        if value is not None and not _is_url(value) and not Path(value).is_file():
            raise ConfigError(
                f"set_config(): {key!r} is neither an http(s) URL nor a file: {value}"
            )
    return config


_HOSTNAME = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")


def _is_url(value: str) -> bool:
    return value.startswith(("http://", "https://", "data:image/"))


def asset_url(value: str | None, served_at: str) -> str | None:
    """The URL the browser uses for a logo/favicon setting (a URL or a served file)."""
    if value is None:
        return None
    return value if _is_url(value) else served_at


def to_ui_config(config: Config, max_message_bytes: int) -> dict[str, Any]:
    """The ``config`` event payload for the browser.

    ``max_message_bytes`` is the server's limit on one ``send_message``: the browser
    checks it before sending, so the user hears why instead of losing the connection.
    """
    functions = {
        name: FunctionDisplay(header=spec) if isinstance(spec, str) else spec
        for name, spec in config.functions.items()
    }
    ui = UIConfig(
        title=config.title,
        agent_name=config.agent_name,
        placeholder=config.placeholder,
        logo=asset_url(config.logo, LOGO_URL),
        favicon=asset_url(config.favicon, FAVICON_URL),
        starter_prompts=config.starter_prompts,
        allow_upload=config.allow_upload,
        show_usage=config.show_usage,
        max_message_bytes=max_message_bytes,
        image_hosts=[host.lower() for host in config.image_hosts],
        messages=config.messages,
        functions=functions,
    )
    payload = ui.model_dump(mode="json")
    # Messages go out as the handler would see them: no null keys.
    payload["messages"] = [m.model_dump(mode="json", exclude_none=True) for m in config.messages]
    return payload
