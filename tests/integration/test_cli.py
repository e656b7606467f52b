"""The ``gptchat`` command, run as a real process on a free port, talked to over a real socket."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_openai import THOUGHT, FakeOpenAI
from tests.support import SocketClient, fold_messages, send

ROOT = Path(__file__).resolve().parents[2]
GPTCHAT_SCRIPT = Path(sys.executable).parent / "gptchat"


class Cli:
    """A ``gptchat`` process whose output is collected line by line."""

    def __init__(self, args: list[str], env: dict[str, str], script: bool = False) -> None:
        command = [str(GPTCHAT_SCRIPT)] if script else [sys.executable, "-m", "gptchat"]
        self.lines: list[str] = []
        self._done = False
        self._cond = threading.Condition()
        self.proc = subprocess.Popen(
            command + args,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=env,
            cwd=ROOT,
            start_new_session=True,  # its own process group: reload children die with it
        )
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        for line in self.proc.stdout:
            with self._cond:
                self.lines.append(line)
                self._cond.notify_all()
        with self._cond:
            self._done = True
            self._cond.notify_all()

    def wait_line(self, text: str, start: int = 0, timeout: float = 20) -> int:
        """The index of the first line from ``start`` on that contains ``text``."""
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                for i in range(start, len(self.lines)):
                    if text in self.lines[i]:
                        return i
                left = deadline - time.monotonic()
                if left <= 0 or self._done:
                    raise AssertionError(f"no line with {text!r} in: {''.join(self.lines)}")
                self._cond.wait(left)

    def url(self, start: int = 0) -> str:
        line = self.lines[self.wait_line("is running on http", start)]
        return line.split("running on ")[1].split()[0].replace("localhost", "127.0.0.1")

    def stop(self, sig: int = signal.SIGTERM) -> int:
        if self.proc.poll() is None:
            os.killpg(self.proc.pid, sig)
        try:
            return self.proc.wait(15)
        finally:
            if self.proc.poll() is None:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(5)
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)  # anything left in its group
            self._reader.join(5)
            if self.proc.stdout is not None:
                self.proc.stdout.close()


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    """A clean environment: no API key, no proxy, nothing from the developer's shell."""
    return {
        "PATH": "/usr/bin:/bin",
        "HOME": str(tmp_path),
        "PYTHONUNBUFFERED": "1",
        "GPTCHAT_STORE": "none",
    }


@pytest.fixture
def cli() -> Iterator[list[Cli]]:
    started: list[Cli] = []
    yield started
    for proc in started:
        proc.stop(signal.SIGKILL)


@pytest.fixture(scope="module")
def fake() -> Iterator[FakeOpenAI]:
    with FakeOpenAI() as server:
        yield server


def start(cli: list[Cli], args: list[str], env: dict[str, str], script: bool = False) -> Cli:
    proc = Cli(args, env, script)
    cli.append(proc)
    return proc


def chat_once(url: str, text: str = "hi") -> tuple[dict[str, Any], list[dict[str, Any]]]:
    client = SocketClient(url.rstrip("/"))
    try:
        send(client, text)
        finished = client.wait_event("run_finished", timeout=30)
        return finished, list(fold_messages(client.named("message_delta")).values())
    finally:
        client.close()


def title(url: str) -> str:
    with urllib.request.urlopen(url) as response:
        page = response.read().decode()
    return page.split("<title>")[1].split("</title>")[0]


# -- the default command --------------------------------------------------------------


def test_bare_command_runs_the_offline_demo_and_exits_cleanly(
    cli: list[Cli], env: dict[str, str]
) -> None:
    proc = start(cli, ["--port", "0"], env)
    proc.wait_line("no OPENAI_API_KEY set, running the offline demo")
    url = proc.url()
    assert title(url) == "gptchat demo"
    finished, messages = chat_once(url)
    assert finished["status"] == "done"
    (reply,) = messages  # "hi" names no starter prompt: the demo quotes it and lists them
    assert reply["content"].startswith("You wrote: “hi”")
    assert "**Weather in three cities**" in reply["content"]
    assert proc.stop(signal.SIGINT) == 0  # Ctrl-C is a clean exit


def test_bare_command_chats_when_a_key_is_set(
    cli: list[Cli], env: dict[str, str], fake: FakeOpenAI
) -> None:
    env |= {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.base_url}
    proc = start(cli, ["--port", "0", "--model", "fake-model"], env)
    proc.wait_line(f"chatting with fake-model at {fake.base_url}")
    finished, messages = chat_once(proc.url(), "Hello")
    assert finished["status"] == "done"
    assert messages[0]["content"].startswith("**Echo:** Hello")
    assert proc.stop() == 0


# -- subcommands ---------------------------------------------------------------------


def test_demo_command_with_open(cli: list[Cli], env: dict[str, str], tmp_path: Path) -> None:
    opened = tmp_path / "opened.txt"
    record = f"import sys; open({str(opened)!r}, 'w').write(sys.argv[1])"
    env["BROWSER"] = f"{sys.executable} -c {record!r} %s"
    script = GPTCHAT_SCRIPT.exists()
    proc = start(cli, ["demo", "--port", "0", "--open"], env, script=script)
    url = proc.url()
    assert title(url) == "gptchat demo"
    deadline = time.monotonic() + 15
    while not opened.exists() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert opened.read_text().replace("localhost", "127.0.0.1") == url


def test_chat_command_with_a_local_base_url_and_system_prompt(
    cli: list[Cli], env: dict[str, str], fake: FakeOpenAI
) -> None:
    args = ["chat", "--model", "qwen-reasoner", "--base-url", fake.base_url, "--system", "Be brief"]
    proc = start(cli, [*args, "--port", "0"], env)  # no OPENAI_API_KEY: a local server
    url = proc.url()
    assert title(url) == "gptchat · qwen-reasoner"
    before = len(fake.requests)
    finished, messages = chat_once(url, "Hi there")
    assert finished["status"] == "done"
    assert messages[0]["content"].startswith("**Echo:** Hi there")
    assert messages[0]["reasoning_content"] == THOUGHT  # shown as a thinking block
    request = fake.requests[before]
    assert request["model"] == "qwen-reasoner"
    assert request["messages"][0] == {"role": "system", "content": "Be brief"}


def test_chat_command_without_key_or_base_url_says_what_to_do(env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "gptchat", "chat"], env=env, capture_output=True, text=True
    )
    assert result.returncode == 2
    assert "set OPENAI_API_KEY" in result.stderr and "--base-url" in result.stderr


def test_run_serves_an_example_file(cli: list[Cli], env: dict[str, str], fake: FakeOpenAI) -> None:
    env |= {"OPENAI_API_KEY": "sk-test", "OPENAI_BASE_URL": fake.base_url}
    proc = start(cli, ["run", "examples/streaming.py", "--port", "0"], env)
    url = proc.url()
    assert title(url) == "Streaming example"
    finished, messages = chat_once(url, "Run me")
    assert finished["status"] == "done"
    assert messages[0]["content"].startswith("**Echo:** Run me")


def test_run_takes_over_an_unguarded_run_app_call(
    cli: list[Cli], env: dict[str, str], tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(
        "from gptchat import app\n\n"
        "@app.handle_send_message\n"
        "def handler(messages):\n"
        "    return {'role': 'assistant', 'content': 'from the file'}\n\n"
        "app.set_config({'title': 'Unguarded'})\n"
        "app.run_app(debug=True, port=5002)  # the CLI's --port wins\n"
    )
    proc = start(cli, ["run", str(app), "--port", "0"], env)
    url = proc.url()
    assert ":5002/" not in url
    assert title(url) == "Unguarded"
    assert chat_once(url)[1] == [{"role": "assistant", "content": "from the file"}]


def test_run_reports_a_missing_file_or_handler(env: dict[str, str], tmp_path: Path) -> None:
    def run(path: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "gptchat", "run", path]
        return subprocess.run(command, env=env, capture_output=True, text=True)

    missing = run("nope.py")
    assert missing.returncode == 2 and "no such app file" in missing.stderr
    empty = tmp_path / "empty.py"
    empty.write_text("x = 1\n")
    no_handler = run(str(empty))
    assert no_handler.returncode == 2 and "@app.handle_send_message" in no_handler.stderr


APP_TEMPLATE = """\
from gptchat import app

@app.handle_send_message
def handler(messages):
    return {{"role": "assistant", "content": "{version}"}}
"""


def test_run_reload_restarts_when_the_file_changes(
    cli: list[Cli], env: dict[str, str], tmp_path: Path
) -> None:
    app = tmp_path / "app.py"
    app.write_text(APP_TEMPLATE.format(version="v1"))
    proc = start(cli, ["run", str(app), "--reload", "--port", "0"], env)
    proc.wait_line("watching")
    url = proc.url()
    assert chat_once(url)[1] == [{"role": "assistant", "content": "v1"}]

    mark = len(proc.lines)
    app.write_text(APP_TEMPLATE.format(version="v2"))
    stat = app.stat()
    os.utime(app, ns=(stat.st_atime_ns, stat.st_mtime_ns + 2_000_000_000))
    restarted = proc.wait_line("app.py changed, restarting", mark)
    assert proc.url(restarted) == url  # the same port after the restart
    assert chat_once(url)[1] == [{"role": "assistant", "content": "v2"}]

    mark = len(proc.lines)
    app.write_text("this is not python\n")
    proc.wait_line("the app exited with status", mark)  # the watcher survives a broken app
    assert proc.stop(signal.SIGINT) == 0
