"""Validation of ``set_config()`` and its translation into the browser's config."""

from __future__ import annotations

import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from .errors import ConfigError
from .protocol import (
    AUDIO_FORMATS,
    IMAGE_DATA_TYPES,
    Attachments,
    ChatMessage,
    FunctionDisplay,
    UIConfig,
    file_type_allowed,
)

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
    #: What a user may attach (images, files, audio), each kind's size limit and types.
    attachments: Attachments = Field(default_factory=Attachments)
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
    if isinstance(changes.get("attachments"), Mapping):
        merged["attachments"] = _merge_attachments(current.attachments, changes["attachments"])
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
    _check_attachment_types(config.attachments)
    for key in ("logo", "favicon"):
        value = getattr(config, key)
        if value is not None and not _is_url(value) and not Path(value).is_file():
            raise ConfigError(
                f"set_config(): {key!r} is neither an http(s) URL nor a file: {value}"
            )
    return config


def _merge_attachments(current: Attachments, changes: Mapping[str, Any]) -> dict[str, Any]:
    # The kinds named change, the others keep their rule; a rule given in part keeps
    # the rest of its fields ({"file": {"max_bytes": ...}} keeps the file types).
    # None or False turns a kind off.
    merged = current.model_dump()
    for kind, rule in changes.items():
        if rule is None or rule is False:
            merged[kind] = None
        elif isinstance(rule, Mapping) and isinstance(merged.get(kind), dict):
            merged[kind] = merged[kind] | dict(rule)
        else:
            merged[kind] = rule
    return merged


_MEDIA_TYPE = re.compile(r"[a-z0-9][a-z0-9.+-]*/(?:\*|[a-z0-9][a-z0-9.+-]*)")
_KIND_TYPES = {
    "image": (IMAGE_DATA_TYPES, "PNG, JPEG, GIF or WebP"),
    "audio": (tuple(AUDIO_FORMATS.values()), "audio/wav or audio/mpeg"),
}


def _check_attachment_types(attachments: Attachments) -> None:
    for kind in ("image", "file", "audio"):
        rule = getattr(attachments, kind)
        if rule is None or rule.types is None:
            continue
        for media_type in rule.types:
            if not _MEDIA_TYPE.fullmatch(media_type):
                raise ConfigError(
                    f"set_config(): 'attachments.{kind}.types' takes media types like "
                    f"'application/pdf' or 'text/*' (lower case), not {media_type!r}"
                )
            if kind == "file":
                ok = media_type.endswith("/*") or file_type_allowed(media_type)
                allowed = "application/pdf, application/json, text/* (not HTML, XML or SVG)"
            else:
                known, allowed = _KIND_TYPES[kind]
                ok = media_type in known
            if not ok:
                raise ConfigError(
                    f"set_config(): 'attachments.{kind}.types': {media_type!r} cannot be "
                    f"attached as {kind} (allowed: {allowed})"
                )


def attachment_rules(config: Config) -> Attachments:
    """What may be attached under ``config``: nothing when ``allow_upload`` is off.

    Example::

        attachment_rules(Config(allow_upload=False)).file  # None
    """
    if not config.allow_upload:
        return Attachments(image=None, file=None, audio=None)
    return config.attachments


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
        attachments=attachment_rules(config),
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
