"""Server alone: ``update_message`` calls per second into N connected Socket.IO clients.

Each of N real Socket.IO clients (websocket transport, on 127.0.0.1) sends one
message; every handler run calls ``update_message`` with a 4-character delta as
fast as it can, for a fixed number of calls. We report the calls per second over
all runs, the per-call cost, the events the clients received (coalescing), and
that every client got every delta in order.

Run: ``.venv/bin/python bench/server_throughput.py [--clients 1 20 100] [--calls 20000]``
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "package")]

from gptchat import ChatApp  # noqa: E402
from tests.support import SocketClient, fold_messages, live_server, send  # noqa: E402


def run(n_clients: int, calls: int) -> dict[str, Any]:
    # No history store: these figures compare with earlier runs (the store's cost is
    # bench/history_stream.py's), and a benchmark must not write to the data folder.
    chat = ChatApp(store=None)
    timings: list[float] = []
    lock = threading.Lock()

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> None:
        mid = chat.new_id()
        chat.update_message({"role": "assistant", "content": ""}, id=mid)
        t0 = time.perf_counter()
        for _ in range(calls):
            chat.update_message({"content": "abcd"}, id=mid)
        with lock:
            timings.append(time.perf_counter() - t0)

    with live_server(chat) as url:
        clients = [
            SocketClient(url, client_key=f"bench-client-{i:04d}-xxxxxxxx") for i in range(n_clients)
        ]
        try:
            t0 = time.perf_counter()
            for i, c in enumerate(clients):
                send(c, "go", conversation_id=f"bench-conv-{i:06d}")
            for c in clients:
                c.wait_event("run_finished", timeout=600)
            wall = time.perf_counter() - t0
            events = sum(len(c.named("message_delta")) for c in clients)
            for c in clients:
                (message,) = fold_messages(c.named("message_delta")).values()
                assert message["content"] == "abcd" * calls, "a delta was lost"
        finally:
            # Closing waits for the server's close frame: close them all at once.
            closers = [threading.Thread(target=c.close) for c in clients]
            for t in closers:
                t.start()
            for t in closers:
                t.join()
    total = n_clients * calls
    return {
        "clients": n_clients,
        "calls_per_client": calls,
        "update_message_per_s": round(total / wall),
        "us_per_call_in_handler": round(1e6 * sum(timings) / total, 2),
        "events_received": events,
        "deltas_per_event": round((total + n_clients) / max(events, 1), 1),
        "wall_s": round(wall, 3),
        "server_peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--clients", type=int, nargs="+", default=[1, 20, 100])
    parser.add_argument("--calls", type=int, default=20000, help="update_message calls per client")
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "server.json")
    args = parser.parse_args()
    rows = []
    for n in args.clients:
        calls = max(args.calls // n, 200) if n > 1 else args.calls
        rows.append(run(n, calls))
        r = rows[-1]
        print(
            f"{r['clients']:>4} clients  {r['update_message_per_s']:>8} calls/s  "
            f"{r['us_per_call_in_handler']:>6} µs/call  {r['deltas_per_event']:>6} deltas/event  "
            f"wall {r['wall_s']} s"
        )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
