"""Soak: many concurrent Socket.IO clients against a real gptchat server, for a bounded time.

The server runs in its own process (``run_app`` on 127.0.0.1), so its thread
count and resident memory are its own. N clients connect (websocket transport);
S of them stream replies back to back for ``--duration`` seconds, the others
stay connected and idle. Every reply is a known sequence of deltas, so each
client checks that it got every delta of every reply, in order, with no gap or
duplicate. We report replies and deltas sent vs delivered, errors, and the
server's threads and RSS at start, at peak load and after the clients left.

Run: ``.venv/bin/python bench/soak.py [--clients 200] [--streaming 50] [--duration 30]``
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import textwrap
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "package")]

from tests.support import SocketClient, fold_messages  # noqa: E402

SERVER = """
import sys, time
from gptchat import ChatApp

DELTAS, PER_SECOND = int(sys.argv[1]), float(sys.argv[2])
# No history store: the soak sends whole conversations, as a browser does without one.
app = ChatApp(max_connections=int(sys.argv[3]), max_generations=2, store=None)

@app.handle_send_message
def stream(messages):
    mid = app.new_id()
    app.update_message({"role": "assistant", "content": ""}, id=mid)
    for i in range(DELTAS):
        app.update_message({"content": f"w{i} "}, id=mid)
        time.sleep(1 / PER_SECOND)

app.run_app(port=0)
"""


def proc_stats(pid: int) -> dict[str, float]:
    """Threads and resident memory of a process, from /proc."""
    fields = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        key, _, value = line.partition(":")
        fields[key] = value.strip()
    return {"threads": int(fields["Threads"]), "rss_mib": int(fields["VmRSS"].split()[0]) / 1024}


class Streamer:
    """One streaming client: sends a message, checks the whole reply, repeats."""

    def __init__(self, client: SocketClient, index: int, deltas: int) -> None:
        self.client = client
        self.index = index
        self.deltas = deltas
        self.sent = 0  # deltas the server was asked to send (replies x deltas per reply)
        self.delivered = 0  # deltas that arrived, in order, with no gap or duplicate
        self.replies = 0
        self.errors: list[str] = []

    def run(self, until: float) -> None:
        expected = "".join(f"w{i} " for i in range(self.deltas))
        n = 0
        while time.monotonic() < until:
            cid = f"soak-{self.index:04d}-{n:05d}"
            n += 1
            self.client.emit(
                "send_message",
                {
                    "conversation_id": cid,
                    "messages": [{"id": "u0", "message": {"role": "user", "content": "go"}}],
                },
            )
            self.sent += self.deltas + 1
            try:
                finished = self.client.wait_event("run_finished", timeout=120, conversation_id=cid)
            except AssertionError:
                self.errors.append(f"{cid}: no run_finished")
                return
            if finished["status"] != "done":
                self.errors.append(f"{cid}: {finished['status']} {finished['error']}")
            deltas = [d for d in self.client.named("message_delta") if d["conversation_id"] == cid]
            try:
                (message,) = fold_messages(deltas).values()
            except (AssertionError, ValueError) as exc:
                self.errors.append(f"{cid}: {exc}")
                continue
            if message.get("content") == expected:
                self.delivered += self.deltas + 1
                self.replies += 1
            else:
                self.errors.append(f"{cid}: reply differs")
            with self.client._cond:  # forget this reply's events: memory stays flat
                self.client.events = [
                    (e, d)
                    for e, d in self.client.events
                    if not (isinstance(d, dict) and d.get("conversation_id") == cid)
                ]


def _phases(values: list[Any]) -> str:
    return "start {} · peak {} · loaded {} · end {}".format(*values)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, default=200, help="connected clients")
    parser.add_argument("--streaming", type=int, default=50, help="of which stream replies")
    parser.add_argument("--duration", type=float, default=30.0, help="seconds of streaming")
    parser.add_argument("--deltas", type=int, default=100, help="deltas per reply")
    parser.add_argument("--rate", type=float, default=100.0, help="deltas per second per reply")
    parser.add_argument("--settle", type=float, default=25.0, help="seconds after disconnect")
    parser.add_argument("--json", type=Path, default=None, help="also write the figures here")
    args = parser.parse_args()

    proc = subprocess.Popen(
        [
            sys.executable,
            "-u",
            "-c",
            textwrap.dedent(SERVER),
            str(args.deltas),
            str(args.rate),
            str(args.clients + 10),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT / "package")},
    )
    assert proc.stdout is not None
    url = ""
    for line in proc.stdout:
        if "running on" in line:
            url = line.split("running on ")[1].split("/ ")[0].replace("localhost", "127.0.0.1")
            break
    server_log: list[str] = []
    threading.Thread(target=lambda: server_log.extend(proc.stdout or []), daemon=True).start()
    time.sleep(0.5)
    start = proc_stats(proc.pid)
    t0 = time.monotonic()
    connect_errors: list[str] = []

    def connect(i: int) -> SocketClient | None:
        try:
            return SocketClient(url, client_key=f"soak-client-{i:05d}-xxxxxxxx")
        except Exception as exc:
            connect_errors.append(f"client {i}: {exc}")
            return None

    with ThreadPoolExecutor(16) as pool:
        clients = [c for c in pool.map(connect, range(args.clients)) if c is not None]
    connect_s = time.monotonic() - t0
    streamers = [Streamer(c, i, args.deltas) for i, c in enumerate(clients[: args.streaming])]
    until = time.monotonic() + args.duration
    threads = [threading.Thread(target=s.run, args=(until,)) for s in streamers]
    for t in threads:
        t.start()
    peak = start
    while any(t.is_alive() for t in threads):
        now = proc_stats(proc.pid)
        peak = {k: max(peak[k], now[k]) for k in peak}
        time.sleep(0.5)
    for t in threads:
        t.join()
    loaded = proc_stats(proc.pid)
    error_events = sum(len(c.named("error")) for c in clients)
    for c in clients:
        c.close()
    time.sleep(args.settle)
    end = proc_stats(proc.pid)
    proc.terminate()
    exit_code = proc.wait(15)
    tracebacks = sum("Traceback" in line for line in server_log)

    sent = sum(s.sent for s in streamers)
    delivered = sum(s.delivered for s in streamers)
    errors = [e for s in streamers for e in s.errors] + connect_errors
    figures: dict[str, Any] = {
        "clients": args.clients,
        "connected": len(clients),
        "streaming": len(streamers),
        "duration_s": args.duration,
        "connect_s": round(connect_s, 1),
        "replies": sum(s.replies for s in streamers),
        "deltas_sent": sent,
        "deltas_delivered": delivered,
        "errors": len(errors) + error_events + tracebacks,
        "server_threads": [int(x["threads"]) for x in (start, peak, loaded, end)],
        "server_rss_mib": [round(x["rss_mib"], 1) for x in (start, peak, loaded, end)],
        "server_exit_on_sigterm": exit_code,
    }
    rows = [
        ("clients connected", f"{len(clients)} / {args.clients} ({connect_s:.1f} s to connect)"),
        ("streaming clients", f"{len(streamers)} for {args.duration:g} s"),
        ("replies completed", str(figures["replies"])),
        ("deltas delivered / sent", f"{delivered:,} / {sent:,}"),
        (
            "errors",
            f"{len(errors)} client, {error_events} error events, {tracebacks} server tracebacks",
        ),
        ("server threads", _phases(figures["server_threads"])),
        ("server RSS (MiB)", _phases(figures["server_rss_mib"])),
        ("server exit on SIGTERM", str(exit_code)),
    ]
    width = max(len(r[0]) for r in rows)
    print(f"{'measure'.ljust(width)} | value")
    print(f"{'-' * width}-|------")
    for name, value in rows:
        print(f"{name.ljust(width)} | {value}")
    print(
        "(start: no clients; loaded: streaming over, all clients still connected; "
        f"end: {args.settle:g} s after they disconnected)"
    )
    for e in errors[:10]:
        print("error:", e)
    if args.json:
        args.json.parent.mkdir(parents=True, exist_ok=True)
        args.json.write_text(json.dumps(figures, indent=2) + "\n")
    return 0 if not errors and delivered == sent else 1


if __name__ == "__main__":
    sys.exit(main())
