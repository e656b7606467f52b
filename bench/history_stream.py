"""What keeping the history costs a stream: the W2 flood with ``store=None`` and with SQLite.

A real server on 127.0.0.1 and a real Socket.IO client (websocket). The handler sends
the W2 reply (``bench/workload.py``: 4-character markdown tokens, one ``update_message``
each) as fast as the server takes it; we time send to ``run_finished`` at the client and
check the reply arrived whole. Both servers run side by side, as in use (long-lived: a
warm-up round first); each round floods both back to back (which goes first alternates),
so both see the same machine load, and the median round of each is kept. With the store
the run is checkpointed every second and kept at its end, as in use; the second, longer
flood (about 2 s) makes sure checkpoints happen inside the timed span.

Run: ``.venv/bin/python bench/history_stream.py [--tokens 20000 600000] [--rounds 15]``.
Prints tokens/s for each and the ratio (the target: SQLite within 5% of ``store=None``).
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "package"), str(ROOT / "bench")]

from workload import reply_text, tokens_of  # noqa: E402

from gptchat import ChatApp  # noqa: E402
from tests.support import SocketClient, live_server, reply_of, send_one, wait_count  # noqa: E402

MARKER = "ZQXMARKQZ"


class Bench:
    """One server (with the given store) and one client, for many floods."""

    def __init__(self, store: str | None) -> None:
        self.chat = ChatApp(store=store)
        self.tokens: list[str] = []
        chat = self.chat

        @chat.handle_send_message
        def handler(messages: list[dict[str, Any]]) -> None:
            mid = chat.new_id()
            chat.update_message({"role": "assistant", "content": ""}, id=mid)
            for token in self.tokens:
                chat.update_message({"content": token}, id=mid)

        self._serving = live_server(chat)
        self.client = SocketClient(self._serving.__enter__())
        self.client.wait_event("config")

    def flood(self, tokens: list[str], conversation_id: str) -> float:
        """One reply of ``tokens``; seconds from send to its run_finished at the client."""
        self.tokens = tokens
        before = len(self.client.named("run_finished"))
        t0 = time.perf_counter()
        send_one(self.client, conversation_id, "u1", "go")
        done = wait_count(self.client, "run_finished", before + 1, timeout=600)[-1]
        wall = time.perf_counter() - t0
        (reply,) = reply_of(self.client, done["run_id"]).values()
        assert reply["content"] == "".join(tokens), "the reply did not arrive whole"
        store = self.chat.store
        if store is not None:
            run = self.chat.server.runs.get(conversation_id, "local")
            assert run is not None and run.kept.wait(10), "the reply was not kept"
            kept = store.get("local", conversation_id)
            assert kept is not None and kept.messages[-1].status == "done"
            assert kept.messages[-1].message["content"] == reply["content"], "not kept whole"
        return wall

    def close(self) -> None:
        self.client.close()
        self._serving.__exit__(None, None, None)
        if self.chat.store is not None:
            self.chat.store.close()


def compare(n_tokens: int, rounds: int, folder: Path) -> dict[str, Any]:
    """Both modes, ``rounds`` times (after one warm-up), alternating which goes first."""
    tokens = tokens_of(reply_text(n_tokens, MARKER))
    benches = {
        "none": Bench(None),
        "sqlite": Bench(f"sqlite:///{folder / f'history-{n_tokens}.db'}"),
    }
    walls: dict[str, list[float]] = {"none": [], "sqlite": []}
    try:
        for i in range(rounds + 1):
            order = ("none", "sqlite") if i % 2 == 0 else ("sqlite", "none")
            for mode in order:
                wall = benches[mode].flood(tokens, f"bench-{n_tokens}-{i:04d}")
                if i > 0:  # the first round warms up both (connections, caches)
                    walls[mode].append(wall)
    finally:
        for bench in benches.values():
            bench.close()
    none_s = statistics.median(walls["none"])
    sqlite_s = statistics.median(walls["sqlite"])
    return {
        "tokens": n_tokens,
        "rounds": rounds,
        "store_none_tokens_per_s": round(n_tokens / none_s),
        "sqlite_tokens_per_s": round(n_tokens / sqlite_s),
        "sqlite_over_none": round(none_s / sqlite_s, 3),
        "best_sqlite_over_best_none": round(min(walls["none"]) / min(walls["sqlite"]), 3),
        "store_none_wall_s": [round(w, 3) for w in walls["none"]],
        "sqlite_wall_s": [round(w, 3) for w in walls["sqlite"]],
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--tokens", type=int, nargs="+", default=[20_000, 600_000])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--json", type=Path, default=ROOT / "bench" / "results" / "history.json")
    args = parser.parse_args()
    rows = []
    with tempfile.TemporaryDirectory(prefix="gptchat-bench-") as tmp:
        for n in args.tokens:
            row = compare(n, args.rounds, Path(tmp))
            rows.append(row)
            print(
                f"{n:>7} tokens  store=None {row['store_none_tokens_per_s']:>8} tokens/s  "
                f"SQLite {row['sqlite_tokens_per_s']:>8} tokens/s  "
                f"SQLite/None {row['sqlite_over_none']:.3f}  (median of {args.rounds}; "
                f"best/best {row['best_sqlite_over_best_none']:.3f})"
            )
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(rows, indent=1) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
