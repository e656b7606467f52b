"""``run_app`` in a host program: a real server in a child process, the host's logging untouched."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.support import SocketClient, fold_messages, send

ROOT = Path(__file__).resolve().parents[2]

# What a model answers about the weather: prose, a table, code, math and a link.
REPLY = """\
Paris is **mild and dry** this week; a light jacket will do in the evenings.

| Day | High | Low | Sky |
| --- | ---: | ---: | --- |
| Monday | 19 °C | 11 °C | sunny |
| Tuesday | 17 °C | 10 °C | cloudy |

To convert to Fahrenheit, $F = \\frac{9}{5}C + 32$, so 19 °C is about 66 °F:

```python
def to_fahrenheit(celsius: float) -> float:
    return celsius * 9 / 5 + 32
```

```bash
curl "https://wttr.in/Paris?format=3"
```

Forecasts come from [Météo-France](https://meteofrance.com/).
"""

# The host's own logging set up before run_app, and what must hold of it while it serves.
HOST_PROGRAM = """\
import logging
import logging.config
import sys

from gptchat import ChatApp

{logging_setup}
root = logging.getLogger()
before = (root.level, list(root.handlers))
log = logging.getLogger("weather")
chat = ChatApp(coalesce_interval=0.0)


@chat.handle_send_message
def answer(messages):
    log.warning("answering a conversation of %d messages", len(messages))
    print("root logging unchanged:", (root.level, list(root.handlers)) == before, flush=True)
    if "outage" in messages[-1]["content"]:
        raise RuntimeError("the weather service is down")
    return {{"role": "assistant", "content": {reply!r}}}


chat.run_app(port=0)
"""

# A program that configures its loggers with dictConfig: its lines in its own format on
# stdout, every other library's (the root's) kept to warnings, with no root handler.
OWN_LOGGERS = """\
logging.config.dictConfig({
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"host": {"format": "HOST %(levelname)s %(name)s: %(message)s"}},
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "formatter": "host",
            "stream": "ext://sys.stdout",
        }
    },
    "loggers": {"weather": {"level": "INFO", "handlers": ["console"]}},
    "root": {"level": "WARNING"},
})
"""

# A program that sends every library's warnings to one root handler in its own format.
ROOT_HANDLER = """\
logging.basicConfig(
    level=logging.WARNING, format="HOST %(levelname)s %(name)s: %(message)s", stream=sys.stdout
)
"""


def serve_and_chat(argv: list[str], cwd: Path) -> list[str]:
    """Run ``argv``, chat with it twice (a reply, then a handler error), stop it; its output."""
    proc = subprocess.Popen(
        argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, cwd=cwd
    )
    try:
        assert proc.stdout is not None
        lines: list[str] = []
        while not any("is running on http" in line for line in lines):
            line = proc.stdout.readline()
            assert line, f"the program ended before serving: {''.join(lines)}"
            lines.append(line)
        url = lines[-1].split("running on ")[1].split()[0].replace("localhost", "127.0.0.1")
        client = SocketClient(url.rstrip("/"))
        try:
            send(client, "What's the weather in Paris this week?", "conv-weather-01")
            done = client.wait_event("run_finished", conversation_id="conv-weather-01")
            send(client, "And during the outage?", "conv-weather-02")
            failed = client.wait_event("run_finished", conversation_id="conv-weather-02")
            messages = fold_messages(client.named("message_delta"))
        finally:
            client.close()
        assert done["status"] == "done" and failed["status"] == "error"
        assert [m["content"] for m in messages.values()] == [REPLY]
        proc.send_signal(signal.SIGTERM)
        rest, _ = proc.communicate(timeout=20)
        assert proc.returncode == 0, rest
        return lines + rest.splitlines(keepends=True)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate(timeout=5)


def host_program(tmp_path: Path, logging_setup: str) -> list[str]:
    """The command that runs a host program with this logging setup."""
    path = tmp_path / "host.py"
    path.write_text(HOST_PROGRAM.format(logging_setup=logging_setup, reply=REPLY))
    return [sys.executable, str(path)]


def test_run_app_leaves_a_hosts_own_loggers_and_root_alone(tmp_path: Path) -> None:
    output = serve_and_chat(host_program(tmp_path, OWN_LOGGERS), tmp_path)
    text = "".join(output)
    assert text.count("root logging unchanged: True") == 2, text
    # Once, in the host's format: a handler run_app put on the root would print it again.
    answering = [line for line in output if "answering a conversation" in line]
    assert answering == [
        "HOST WARNING weather: answering a conversation of 1 messages\n",
        "HOST WARNING weather: answering a conversation of 1 messages\n",
    ], text
    # gptchat's own lines still show, once, with the traceback.
    assert text.count("the message handler raised") == 1, text
    assert "RuntimeError: the weather service is down" in text


def test_run_app_logs_through_a_hosts_root_handler_once(tmp_path: Path) -> None:
    text = "".join(serve_and_chat(host_program(tmp_path, ROOT_HANDLER), tmp_path))
    assert text.count("root logging unchanged: True") == 2, text
    # In the host's format, and not doubled by a handler of gptchat's own.
    assert text.count("the message handler raised") == 1, text
    assert "HOST ERROR gptchat: the message handler raised" in text


@pytest.mark.parametrize("debug", [False, True], ids=["plain", "debug"])
def test_the_cli_still_prints_its_lines(tmp_path: Path, debug: bool) -> None:
    app = host_program(tmp_path, logging_setup="")[1]
    argv = [sys.executable, "-m", "gptchat", "run", app, "--port", "0"]
    text = "".join(serve_and_chat(argv + (["--debug"] if debug else []), tmp_path))
    assert "gptchat: serving" in text and "gptchat is running on http://localhost:" in text
    assert text.count("the message handler raised") == 1, text
    assert "RuntimeError: the weather service is down" in text
