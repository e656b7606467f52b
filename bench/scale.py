"""Several gptchat processes behind nginx: replies/s, deltas/s, CPU per delta, latency.

For 1, 2 and 4 gunicorn processes (``gptchat.gunicorn_conf``, each ``-w 1``) behind
nginx running ``deploy/nginx.conf`` (``tests/nginx_server.py``), 200 python-socketio
clients connect through nginx over WebSocket; 50 of them stream replies back to back
(``tests/serving_app.py``: ``stamps N PACE``, each delta the wall-clock time of its
``update_message`` call), the other 150 stay connected and idle. Over a fixed window
it counts finished replies and deltas received, the CPU seconds the gunicorn
processes spent (``/proc/<pid>/stat``), and for each delta the time from its
``update_message`` to its arrival in the client (same machine, same clock): p50, p99.

Several processes need replies shared between them (``message_queue`` on Redis): the
script looks whether ``ChatApp`` takes ``message_queue`` and whether ``redis-server``
is installed; if so it starts one on a free loopback port in a temporary folder and
measures 1 process without Redis, then 1, 2 and 4 with it. Otherwise it measures one
process only and says why. Loopback only; about a minute per configuration at most.

Run: ``.venv/bin/python bench/scale.py [--window 12] [--clients 200] [--streaming 50]``
(``--processes 1 2 4``: those counts without a message queue, which this workload, where
no tab reconnects, does not need).
"""

from __future__ import annotations

import argparse
import inspect
import json
import multiprocessing as mp
import os
import queue as queue_module
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "package")]

import socketio  # noqa: E402

from gptchat import ChatApp  # noqa: E402
from gptchat.protocol import PROTOCOL_VERSION  # noqa: E402
from tests.gunicorn_server import Gunicorn  # noqa: E402
from tests.nginx_server import NGINX, NginxServer, free_port  # noqa: E402

STAMP = re.compile(rb"\d{10}\.\d{6}")
#: One reply by default: 40 deltas as fast as the handler can send them, so that the
#: servers, not a model's pace, set the rate (``--reply "stamps 20 0.01"`` paces them).
REPLY = "stamps 40 0"
CLK_TCK = os.sysconf("SC_CLK_TCK")


class Client:
    """One tab: a python-socketio client through nginx; a streaming one sends back to back."""

    def __init__(
        self, url: str, index: int, streaming: bool, stats: Stats, reply: str = REPLY
    ) -> None:
        self.index = index
        self.reply = reply
        self.streaming = streaming
        self.stats = stats
        self.replies = 0
        self.sio = socketio.Client(reconnection=False)
        self.sio.on("message_delta", self._on_delta)
        self.sio.on("run_finished", self._on_finished)
        key = f"scale-client-{index:05d}-xxxxxxxx"
        self.sio.connect(
            url,
            transports=["websocket"],
            auth={"client": key, "protocol": PROTOCOL_VERSION},
            wait_timeout=10,
        )

    def send(self) -> None:
        conversation = f"scale-{self.index:05d}-{self.replies:06d}"
        message = {"id": "u0", "message": {"role": "user", "content": self.reply}}
        self.sio.emit("send_message", {"conversation_id": conversation, "messages": [message]})

    def _on_delta(self, data: dict[str, Any]) -> None:
        now = time.time()
        stamps = STAMP.findall(json.dumps(data["deltas"]).encode())
        self.stats.deltas(now, [float(s) for s in stamps])

    def _on_finished(self, data: dict[str, Any]) -> None:
        self.replies += 1
        self.stats.reply(data.get("status") == "done")
        if self.streaming and self.stats.running.is_set():
            self.send()

    def close(self) -> None:
        ws = getattr(self.sio.eio, "ws", None)
        if ws is not None:  # websocket-client waits 3 s for the close frame by default
            close = ws.close
            ws.close = lambda *a, **k: close(timeout=0.2)
        self.sio.disconnect()


class Stats:
    """What the clients saw, counted only while :attr:`measuring` is set."""

    def __init__(self) -> None:
        self.running = threading.Event()
        self.measuring = threading.Event()
        self._lock = threading.Lock()
        self.n_deltas = 0
        self.n_replies = 0
        self.n_failed = 0
        self.latencies: list[float] = []

    def deltas(self, now: float, stamps: list[float]) -> None:
        if not self.measuring.is_set():
            return
        with self._lock:
            self.n_deltas += len(stamps)
            self.latencies.extend(now - s for s in stamps)

    def reply(self, ok: bool) -> None:
        if not self.measuring.is_set():
            return
        with self._lock:
            self.n_replies += 1
            self.n_failed += not ok


def client_process(
    url: str,
    indexes: range,
    streaming: int,
    reply: str,
    running: Any,
    measuring: Any,
    ready: Any,
    results: Any,
) -> None:
    """Some of the clients, in a process of their own; puts what they saw on ``results``."""
    stats = Stats()
    clients = [Client(url, i, i < streaming, stats, reply) for i in indexes]
    ready.put(len(clients))
    running.wait()
    stats.running.set()
    for c in clients:
        if c.streaming:
            c.send()
    while running.is_set():
        # Counted from when the parent starts the clock until it stops it.
        if measuring.wait(0.01):
            stats.measuring.set()
            while measuring.is_set() and running.is_set():
                time.sleep(0.01)
            stats.measuring.clear()
            break
    stats.running.clear()
    with stats._lock:
        results.put((stats.n_deltas, stats.n_replies, stats.n_failed, stats.latencies))
    closers = [threading.Thread(target=c.close) for c in clients]
    for t in closers:
        t.start()
    for t in closers:
        t.join(10)


def cpu_seconds(pids: list[int]) -> float:
    """User + system CPU seconds of these processes so far."""
    total = 0
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        total += int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)
    return total / CLK_TCK


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


@contextmanager
def redis_server() -> Iterator[str]:
    """A throwaway redis-server on a free loopback port; its URL."""
    folder = Path(tempfile.mkdtemp(prefix="gptchat-bench-redis-"))
    port = free_port()
    proc = subprocess.Popen(
        [
            "redis-server",
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(folder),
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
                break
            except OSError:
                if time.monotonic() > deadline or proc.poll() is not None:
                    raise RuntimeError("redis-server did not start") from None
                time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        proc.terminate()
        proc.wait(timeout=10)
        shutil.rmtree(folder, ignore_errors=True)


def measure(processes: int, queue: str | None, args: argparse.Namespace) -> dict[str, Any]:
    """One configuration: ``processes`` gunicorns (on ``queue`` if given) behind nginx."""
    env = {
        "GPTCHAT_TEST_AUTH": "open",
        "GPTCHAT_TEST_MAX_CONNECTIONS": str(args.clients + 50),
    }
    if queue:
        env["GPTCHAT_MESSAGE_QUEUE"] = queue
    threads = ["--threads", str(args.clients + 100)]  # one per open WebSocket, and spare
    ctx = mp.get_context("spawn")
    running, measuring, ready = ctx.Event(), ctx.Event(), ctx.Queue()
    results: Any = ctx.Queue()
    with ExitStack() as stack:
        servers = [
            stack.enter_context(Gunicorn.start(env=env, args=threads)) for _ in range(processes)
        ]
        nginx = stack.enter_context(NginxServer.start([g.port for g in servers]))
        # The clients in processes of their own: 200 in one Python share one GIL, and
        # that, not the server, would be what is measured.
        n = args.client_processes
        workers = [
            ctx.Process(
                target=client_process,
                args=(
                    nginx.url,
                    range(k, args.clients, n),
                    args.streaming,
                    args.reply,
                    running,
                    measuring,
                    ready,
                    results,
                ),
                daemon=True,
            )
            for k in range(n)
        ]
        for w in workers:
            w.start()
        try:
            for _ in workers:
                while True:
                    try:
                        ready.get(timeout=1)
                        break
                    except queue_module.Empty:
                        if not all(w.is_alive() for w in workers):
                            raise RuntimeError("a client process failed") from None
            pids = [p for g in servers for p in (g.proc.pid, *g.worker_pids())]
            running.set()
            time.sleep(args.warmup)  # replies under way before the clock starts
            cpu0, t0 = cpu_seconds(pids), time.monotonic()
            measuring.set()
            time.sleep(args.window)
            measuring.clear()
            cpu1, t1 = cpu_seconds(pids), time.monotonic()
            running.clear()
            stats = Stats()
            for _ in workers:
                n_deltas, n_replies, n_failed, latencies = results.get(timeout=120)
                stats.n_deltas += n_deltas
                stats.n_replies += n_replies
                stats.n_failed += n_failed
                stats.latencies.extend(latencies)
        finally:
            for w in workers:
                w.join(30)
                if w.is_alive():
                    w.kill()
    span = t1 - t0
    cpu = cpu1 - cpu0
    return {
        "processes": processes,
        "redis": bool(queue),
        "clients": args.clients,
        "streaming": args.streaming,
        "replies_per_s": round(stats.n_replies / span, 1),
        "failed_replies": stats.n_failed,
        "deltas_per_s": round(stats.n_deltas / span),
        "server_cpu_s_per_s": round(cpu / span, 2),
        "cpu_us_per_delta": round(1e6 * cpu / max(stats.n_deltas, 1), 1),
        "latency_p50_ms": round(1e3 * percentile(stats.latencies, 0.50), 2),
        "latency_p99_ms": round(1e3 * percentile(stats.latencies, 0.99), 2),
        "window_s": round(span, 1),
    }


def plan() -> tuple[list[tuple[int, bool]], str]:
    """Which configurations to measure, and why (when fewer than all)."""
    takes_queue = "message_queue" in inspect.signature(ChatApp).parameters
    has_redis = shutil.which("redis-server") is not None
    if takes_queue and has_redis:
        return [(1, False), (1, True), (2, True), (4, True)], ""
    why = (
        "ChatApp takes no message_queue yet (issue 13's core)"
        if not takes_queue
        else "redis-server is not installed (apt-get install redis-server)"
    )
    return [(1, False)], (
        f"1 process only: {why}. Without a message queue each process keeps its replies "
        "in memory, so a tab that reconnects to another process could not resume its reply."
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--clients", type=int, default=200)
    parser.add_argument("--streaming", type=int, default=50)
    parser.add_argument("--window", type=float, default=12.0, help="seconds measured")
    parser.add_argument("--warmup", type=float, default=2.0)
    parser.add_argument("--client-processes", type=int, default=2)
    parser.add_argument("--reply", default=REPLY, help="what each streaming client sends")
    parser.add_argument(
        "--processes",
        type=int,
        nargs="+",
        help="measure these process counts without a message queue anyway (the benchmark's "
        "tabs never reconnect, so each reply stays in its process)",
    )
    args = parser.parse_args()
    if not Path(NGINX).exists():
        raise SystemExit(f"bench/scale.py needs nginx at {NGINX}: apt-get install nginx")
    configurations, note = plan()
    if args.processes:
        configurations = [(n, False) for n in args.processes]
        note = "Without a message queue (--processes): no tab here reconnects, so none misses it."
    results = []
    with ExitStack() as stack:
        queue = None
        if any(redis for _, redis in configurations):
            queue = stack.enter_context(redis_server())
        for processes, redis in configurations:
            print(
                f"measuring {processes} process(es){' on Redis' if redis else ''} ...",
                file=sys.stderr,
                flush=True,
            )
            results.append(measure(processes, queue if redis else None, args))
    rows = [
        ("processes", "processes"),
        ("Redis message queue", "redis"),
        ("replies/s", "replies_per_s"),
        ("failed replies", "failed_replies"),
        ("deltas/s", "deltas_per_s"),
        ("server CPU s per s", "server_cpu_s_per_s"),
        ("server CPU µs per delta", "cpu_us_per_delta"),
        ("update_message → client p50 (ms)", "latency_p50_ms"),
        ("update_message → client p99 (ms)", "latency_p99_ms"),
        ("window (s)", "window_s"),
    ]
    print(
        f"\n{args.clients} clients through nginx (in {args.client_processes} processes), "
        f"{args.streaming} streaming "
        f"'{args.reply}' back to back; {os.cpu_count()} cores\n"
    )
    for label, key in rows:
        cells = "".join(f"{r[key]!s:>14}" for r in results)
        print(f"{label:<34}{cells}")
    if len(results) > 1:
        base = results[0]["deltas_per_s"] or 1
        ratios = "".join(f"{r['deltas_per_s'] / base:>14.2f}" for r in results)
        print(f"{'deltas/s vs the first':<34}{ratios}")
    if note:
        print(f"\n{note}")
    print("\n" + json.dumps(results))


if __name__ == "__main__":
    main()
