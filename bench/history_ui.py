"""Server-kept history as the browser sees it: the sidebar, search and a long chat, painted.

Fills a SQLite store with 10,000 conversations of ~10 messages (``store.fill``), plus one of
1,000 messages, serves it with a real gptchat server on 127.0.0.1 and drives headless
Chromium (Debian's, ``/usr/bin/chromium``). Times, over fresh page loads (p50 / p95 /
max, in ms):

- **sidebar painted**: navigation start to the frame after the sidebar shows its first
  page (30 conversations), the page's own loading included; and from the frame the page
  saw its socket connected (the list's request, the server's answer and the paint);
  target < 200 ms (the server's part of it, < 50 ms, is in ``bench/store.py``);
- **search painted**: typing a word found in message text to the frame that shows the
  matches, less the sidebar's 200 ms typing pause; target < 100 ms for the server's search;
- **open 1,000 messages**: a click on the conversation to the frame after its last message
  is in the page; target < 300 ms; then **scroll frames**: p95 and max frame while
  scrolling up through it (target: frames under 16 ms).

Run: ``.venv/bin/python bench/history_ui.py [--loads N] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import json
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "package"), str(ROOT / "bench")]

from playwright.sync_api import Page, sync_playwright  # noqa: E402
from store import OWNER, RARE, _words, fill  # noqa: E402

from gptchat import ChatApp  # noqa: E402
from gptchat.store import Store  # noqa: E402
from tests.e2e.chromium import ARGS, CHROMIUM  # noqa: E402
from tests.support import live_server  # noqa: E402

LONG_TITLE = "The long one"

# Resolves with ms from `t0` to the frame after `ready()` first holds.
_UNTIL_PAINTED = """([t0, ready]) => new Promise((resolve) => {
    const check = new Function('return (' + ready + ')()');
    const frame = () => {
        if (check()) requestAnimationFrame(() => resolve(performance.now() - t0));
        else requestAnimationFrame(frame);
    };
    frame();
})"""


def _stats(samples: list[float]) -> dict[str, float]:
    samples = sorted(samples)
    return {
        "p50": statistics.median(samples),
        "p95": samples[min(len(samples) - 1, round(0.95 * (len(samples) - 1)))],
        "max": samples[-1],
    }


def _until(page: Page, t0: float, ready: str) -> float:
    return float(page.evaluate(_UNTIL_PAINTED, [t0, ready]))


def sidebar_painted(page: Page, url: str) -> tuple[float, float]:
    """Navigation start (performance's time origin) to the sidebar's first page painted,
    and the frame the socket was seen connected to it (the server's answer and the paint)."""
    page.goto(url, wait_until="commit")
    since_start, since_connected = page.evaluate(
        """() => new Promise((resolve) => {
            let connected = null;
            const frame = () => {
                const now = performance.now();
                if (connected === null && document.querySelector('[data-connected=true]'))
                    connected = now;
                if (document.querySelectorAll('[data-testid=conversation]').length >= 30)
                    requestAnimationFrame(() => {
                        const end = performance.now();
                        resolve([end, end - (connected ?? now)]);
                    });
                else requestAnimationFrame(frame);
            };
            frame();
        })"""
    )
    return float(since_start), float(since_connected)


def search_painted(page: Page) -> float:
    box = page.get_by_test_id("search")
    box.fill("")
    page.wait_for_function("document.querySelectorAll('[data-testid=conversation]').length >= 30")
    t0 = float(page.evaluate("performance.now()"))
    box.fill(RARE)
    # The sidebar waits 200 ms after the last key before it asks the server.
    ms = _until(
        page, t0, "() => document.querySelectorAll('[data-testid=conversation]').length === 20"
    )
    return ms - 200


def open_long(page: Page, title: str = LONG_TITLE, last: str = "Answer 999.") -> float:
    """Click the conversation ``title`` in the sidebar: ms to the frame after a message
    holding ``last`` is in the page."""
    return float(
        page.evaluate(
            """([title, last]) => new Promise((resolve) => {
                const t0 = performance.now();
                const done = () => {
                    const shown = [...document.querySelectorAll('[data-testid=message]')]
                        .some((m) => m.textContent.includes(last));
                    if (shown) requestAnimationFrame(() => resolve(performance.now() - t0));
                    else requestAnimationFrame(done);
                };
                [...document.querySelectorAll('.conv-title')]
                    .find((b) => b.textContent.trim() === title).click();
                requestAnimationFrame(done);
            })""",
            [title, last],
        )
    )


def scroll_frames(page: Page) -> dict[str, float]:
    """Scroll the thread up 120 px a frame for 240 frames: the frames' p50, p95 and max,
    and how many messages are in the page after it."""
    gaps, rendered = page.evaluate(
        """async () => {
            const scroller = document.querySelector('.scroller');
            const gaps = [];
            let last = performance.now();
            for (let i = 0; i < 240; i++) {
                await new Promise((r) => requestAnimationFrame(r));
                const now = performance.now();
                gaps.push(now - last);
                last = now;
                scroller.scrollTop -= 120;
            }
            return [gaps, document.querySelectorAll('[data-testid=message]').length];
        }"""
    )
    return {**_stats(gaps), "rendered": rendered}


def run(loads: int, folder: Path) -> dict[str, dict[str, float]]:
    url = f"sqlite:///{folder / 'history.db'}"
    store = Store(url)
    t0 = time.perf_counter()
    fill(url, 10_000, 1_000, per=10)
    block = "A paragraph with **bold**, `code` and a list:\n\n- one\n- two\n\n```py\nprint(1)\n```"
    long_chat = [
        {"role": "user", "content": f"Question {i} {_words(random.Random(i), 8)}"}
        if i % 2 == 0
        else {"role": "assistant", "content": f"Answer {i}. {block}"}
        for i in range(1000)
    ]
    # Older than the whole first page: it is found by search, as a person would.
    store.import_messages(OWNER, "conv-long", long_chat, title=LONG_TITLE, updated_at=1.0)
    store.close()
    print(f"filled 10,000 + 1,000 conversations in {time.perf_counter() - t0:.1f} s")

    chat = ChatApp(store=url, auth=lambda request: OWNER)

    @chat.handle_send_message
    def handler(messages: list[dict[str, Any]]) -> str:
        return "ok"

    rows: dict[str, list[float]] = {"sidebar": [], "connected": [], "search": [], "open": []}
    scroll: dict[str, float] = {}
    with live_server(chat) as base, sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        for i in range(loads + 1):
            context = browser.new_context(viewport={"width": 1280, "height": 860})
            page = context.new_page()
            sidebar, connected = sidebar_painted(page, base)
            search = search_painted(page)
            page.get_by_test_id("search").fill(LONG_TITLE)
            page.locator(".conv-title", has_text=LONG_TITLE).wait_for()
            opened = open_long(page)
            if i == loads:
                scroll = scroll_frames(page)
            context.close()
            if i == 0:
                continue  # warm-up: the server's caches, Chromium's code cache
            rows["sidebar"].append(sidebar)
            rows["connected"].append(connected)
            rows["search"].append(search)
            rows["open"].append(opened)
        browser.close()
    if chat.store is not None:
        chat.store.close()
    return {
        "sidebar painted, from navigation start": _stats(rows["sidebar"]),
        "sidebar painted, from socket connected": _stats(rows["connected"]),
        "search painted (less the 200 ms pause)": _stats(rows["search"]),
        "open a 1,000-message conversation": _stats(rows["open"]),
        "scrolling it up: frame": scroll,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--loads", type=int, default=7, help="fresh page loads timed")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="gptchat-bench-") as tmp:
        rows = run(args.loads, Path(tmp))
    print(f"\n{'':44}{'p50':>9}{'p95':>9}{'max':>9}   (ms)")
    for name, row in rows.items():
        print(f"{name:44}{row['p50']:9.1f}{row['p95']:9.1f}{row['max']:9.1f}")
    rendered = rows["scrolling it up: frame"]["rendered"]
    print(f"messages in the page after scrolling 240 frames up: {rendered:.0f} of 1,000")
    if args.json:
        args.json.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
