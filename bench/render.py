"""The streaming benchmark of issue 5: one command, a table, and bench/results/latest.json.

Runs headless Chromium (Debian's, at /usr/bin/chromium) against a real gptchat server
with a scripted handler (``bench/scripted_server.py``, its own process) and measures:

- W1, W2: 5,000 and 20,000 tokens as fast as the server accepts them: time from send to
  the last token visible (painted), tokens/s, long tasks, JS heap, server RSS;
- W3: 1,000 tokens at 100/s: render lag per event (arrival to DOM) and per token (emit to
  DOM), and the lag after the last emit;
- W4: cold load to a usable composer, and the bytes transferred before the first message;
- the limits: a bare page that gets the final text in one event and renders it once with
  the same markdown pipeline, and a bare Socket.IO page appending raw text per event;
- server alone: ``update_message`` calls per second into 1, 20 and 100 clients
  (``bench/server_throughput.py``).

Run from the repository root: ``.venv/bin/python bench/render.py`` (see bench/README.md).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import secrets
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path
from typing import Any

from playwright.sync_api import Browser, Page, sync_playwright

sys.path[:0] = [str(Path(__file__).resolve().parent.parent)]
from tests.e2e.chromium import ARGS, CHROMIUM  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
CLIENT = ROOT / "client"
RESULTS = ROOT / "bench" / "results"
HISTORY = RESULTS / "history"
TIMEOUT_S = 60.0

# Installed before any page script: long tasks, and (for W3) when each message_delta
# frame arrives, taken before Socket.IO sees it.
INIT = """
window.__bench = {
  longtasks: [], arrivals: [], renders: [], paints: [], done: null, painted: null,
};
try {
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) window.__bench.longtasks.push([e.startTime, e.duration]);
  }).observe({ type: "longtask", buffered: true });
} catch (e) {}
// "Painted" is the end of the frame that shows a DOM change. A change made in a task is
// painted by the next frame: a requestAnimationFrame, then a message (a task after that
// frame's style, layout and paint). A change made in an animation frame callback (or in a
// microtask after one: Svelte applies its updates in a microtask) is painted by that same
// frame, and a requestAnimationFrame from there would wait for the frame after it and
// count a frame (16.7 ms) that nobody sees. So every rAF callback is wrapped to say the
// page is inside a frame until the microtasks after it have run (a chain of microtasks
// is queued behind them: a MutationObserver callback, itself a microtask, runs before
// the chain's end).
{
  const b = window.__bench;
  const native = window.requestAnimationFrame.bind(window);
  b.inFrame = false;
  window.requestAnimationFrame = (cb) => native((t) => {
    b.inFrame = true;
    let n = 16;
    const unwind = () => { if (--n > 0) queueMicrotask(unwind); else b.inFrame = false; };
    try { cb(t); } finally { queueMicrotask(unwind); }
  });
  b.afterPaint = (fn) => {
    const post = () => {
      const c = new MessageChannel();
      c.port1.onmessage = () => fn(performance.now());
      c.port2.postMessage(null);
    };
    if (b.inFrame) post(); else native(post);
  };
}
"""
ARRIVALS = """
{
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener("message", (e) => {
        if (typeof e.data !== "string" || !e.data.startsWith('42["message_delta"')) return;
        const seq = /"seq":(\\d+)/.exec(e.data);
        const n = /"count":(\\d+)/.exec(e.data); // deltas the event stands for
        const at = performance.now();
        window.__bench.arrivals.push([at, seq ? Number(seq[1]) : 0, n ? Number(n[1]) : 0]);
      });
    }
  };
}
"""
# Watches the app's DOM: a timestamp per DOM update, and the first one showing the marker.
# `b.finished` resolves once that is painted: awaited in one call, as the limit pages are
# (polling from here would wake the page, Playwright and this process every few ms).
# With `perPaint` (W3), when each DOM update is painted too.
WATCH = """
([marker, perPaint]) => {
  const b = window.__bench;
  b.done = null;
  b.painted = null;
  b.finished = new Promise((resolve, reject) => {
    b.resolve = resolve;
    setTimeout(() => reject(new Error("timed out waiting for the marker")), TIMEOUT_MS);
  });
  const obs = new MutationObserver(() => {
    const now = performance.now();
    b.renders.push(now);
    if (perPaint) b.afterPaint((t) => b.paints.push([now, t]));
    if (b.done !== null) return;
    const roots = document.querySelectorAll('[data-role="assistant"] .md-root');
    const last = roots[roots.length - 1]?.lastElementChild;
    if (last && last.textContent.includes(marker)) {
      b.done = now;
      b.afterPaint((t) => { b.painted = t; obs.disconnect(); b.resolve(); });
    }
  });
  obs.observe(document.body, { childList: true, subtree: true, characterData: true });
}
""".replace("TIMEOUT_MS", str(int(TIMEOUT_S * 1000)))
SEND = """
() => {
  const input = document.querySelector('[data-testid="composer-input"]');
  window.__bench.t0 = performance.now();
  const init = { key: "Enter", bubbles: true, cancelable: true };
  input.dispatchEvent(new KeyboardEvent("keydown", init));
}
"""
# W4: when the composer says it is connected (usable), from navigation start.
USABLE = """
new MutationObserver((_, obs) => {
  const c = document.querySelector('[data-testid="composer"][data-connected="true"]');
  if (c && window.__bench.usable === undefined) {
    window.__bench.usable = performance.now();
    obs.disconnect();
  }
}).observe(document, { attributes: true, childList: true, subtree: true });
"""


# -- helpers ---------------------------------------------------------------------


def log(*parts: Any) -> None:
    print(*parts, file=sys.stderr, flush=True)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = min(len(ordered) - 1, max(0, round(q / 100 * (len(ordered) - 1))))
    return ordered[k]


def r(x: float, nd: int = 1) -> float:
    return round(x, nd)


class Server:
    """The scripted server in its own process, with its RSS sampled every 20 ms."""

    def __init__(self) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "bench" / "scripted_server.py")],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
        )
        assert self.proc.stdout is not None
        self.url = self.proc.stdout.readline().strip()
        if not self.url.startswith("http://127.0.0.1:"):
            raise RuntimeError(f"bench server did not start: {self.url!r}")
        self._samples: list[float] = []
        self._sampling = False
        self._thread: threading.Thread | None = None

    def rss_mib(self) -> float:
        try:
            status = Path(f"/proc/{self.proc.pid}/status").read_text()
        except OSError:
            return float("nan")
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
        return float("nan")

    def start_sampling(self) -> None:
        self._samples = [self.rss_mib()]
        self._sampling = True

        def loop() -> None:
            while self._sampling:
                self._samples.append(self.rss_mib())
                time.sleep(0.02)

        self._thread = threading.Thread(target=loop, daemon=True)
        self._thread.start()

    def stop_sampling(self) -> dict[str, float]:
        self._sampling = False
        if self._thread:
            self._thread.join()
        s = self._samples or [float("nan")]
        return {"start": r(s[0]), "peak": r(max(s)), "end": r(self.rss_mib())}

    def run_record(self, marker: str) -> dict[str, Any]:
        for _ in range(200):
            with urllib.request.urlopen(f"{self.url}/_bench/run/{marker}") as resp:
                record = json.load(resp)
            if record:
                return dict(record)
            time.sleep(0.05)
        raise RuntimeError(f"the handler never finished run {marker}")

    def close(self) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.close()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.proc.kill()


def build_client(skip: bool) -> None:
    """Build the app (package/build) and the limit pages (bench/.build)."""
    if skip:
        return
    npm = ["npm", "--prefix", str(CLIENT)]
    if not (CLIENT / "node_modules").is_dir():
        log("npm ci ...")
        subprocess.run([*npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], check=True)
    log("building the app and the limit pages ...")
    subprocess.run([*npm, "run", "--silent", "build"], check=True, stdout=subprocess.DEVNULL)
    subprocess.run(
        ["npx", "vite", "build", "--config", "vite.bench.config.ts"],
        cwd=CLIENT,
        check=True,
        stdout=subprocess.DEVNULL,
    )


def wait_until(page: Page, expression: str, timeout: float = TIMEOUT_S) -> None:
    """Poll ``expression`` from here: the app's CSP forbids Playwright's in-page eval."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise TimeoutError(f"timed out waiting for {expression}")
        time.sleep(0.02)


def heap_mib(page: Page) -> float:
    cdp = page.context.new_cdp_session(page)
    cdp.send("HeapProfiler.collectGarbage")
    used = cdp.send("Runtime.getHeapUsage")["usedSize"]
    cdp.detach()
    return r(used / 2**20)


def long_tasks(page: Page, start: float, end: float) -> dict[str, Any]:
    tasks = page.evaluate("window.__bench.longtasks")
    within = [(t, d) for t, d in tasks if t + d >= start and t <= end]
    return {
        "count": len(within),
        "total_ms": r(sum(d for _, d in within)),
        "max_ms": r(max((d for _, d in within), default=0.0)),
        # When each began, from the start of the workload, and how long it took.
        "at_ms": [[r(t - start), r(d)] for t, d in within],
    }


def command(mode: str, tokens: int, rate: float, marker: str) -> str:
    return f"bench {mode} {tokens} {rate:g} {marker}"


def new_marker() -> str:
    return "ZQX" + secrets.token_hex(4).upper() + "QZ"


# -- workloads -------------------------------------------------------------------


def app_stream(
    browser: Browser,
    server: Server,
    tokens: int,
    rate: float,
    per_event: bool = False,
    trace: bool = False,
    replies: int = 0,
    reply_tokens: int = 100,
) -> dict[str, Any]:
    """Stream ``tokens`` into the app; time from send to the last token painted.

    With ``per_event`` (W3), the lag of every event and token, and when the last token of
    the reply and of ``replies`` more replies of ``reply_tokens`` to ``reply_tokens + 4``
    (same rate, same conversation, one after the other) is painted after the handler's
    last call.
    With ``trace``, a Chromium trace tells each long task's CPU time from its wall time
    (on a busy machine a short task can last long because the core was taken away).
    """
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_init_script(INIT + (ARRIVALS if per_event else ""))
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    try:
        page.goto(server.url)
        page.wait_for_selector('[data-testid="composer"][data-connected="true"]')
        marker = new_marker()
        page.fill('[data-testid="composer-input"]', command("stream", tokens, rate, marker))
        page.evaluate(WATCH, [marker, per_event])
        server.start_sampling()
        trace_path = RESULTS / f"trace-{marker}.tmp"
        if trace:
            browser.start_tracing(page=page, path=str(trace_path), categories=["devtools.timeline"])
        page.evaluate(SEND)
        page.evaluate("() => window.__bench.finished")
        rss = server.stop_sampling()
        if trace:
            browser.stop_tracing()
        b = page.evaluate(STATE)
        record = server.run_record(marker)
        wall = (b["painted"] - b["t0"]) / 1000
        result: dict[str, Any] = {
            "tokens": tokens,
            "rate": rate,
            "wall_s": r(wall, 3),
            "dom_s": r((b["done"] - b["t0"]) / 1000, 3),
            "tokens_per_s": round(tokens / wall),
            "handler_s": r(record["handler_s"], 3),
            "dom_updates": len(b["renders"]),
            "long_tasks": long_tasks(page, b["t0"], b["painted"]),
            "js_heap_mib": heap_mib(page),
            "server_rss_mib": rss,
            "errors": errors,
        }
        if per_event:
            result.update(lags(b, record["emits"], tokens))
            ends = [last_token(b, record)]
            for i in range(replies):
                # The next message once the app takes one: the last reply has finished.
                wait_until(page, "!document.querySelector('[data-testid=\"stop-button\"]')")
                page.evaluate("() => { __bench.arrivals = []; __bench.renders = []; }")
                marker = new_marker()
                # Replies of one length would all end at one phase of the browser's frame
                # clock (frames start on demand when a stream begins, then every 16.7 ms);
                # 0-4 tokens more (10 ms each: 3.3 ms apart modulo a frame) spread their
                # last token over the frame evenly, as a model's replies of any length.
                cmd = command("stream", reply_tokens + i % 5, rate, marker)
                page.fill('[data-testid="composer-input"]', cmd)
                page.evaluate(WATCH, [marker, False])
                page.evaluate(SEND)
                page.evaluate("() => window.__bench.finished")
                ends.append(last_token(page.evaluate(STATE), server.run_record(marker)))
            result["last_token"] = last_token_summary(ends, reply_tokens)
            result["long_tasks"] = long_tasks(page, b["t0"], float("inf"))
        if trace:
            result["traced_long_tasks"] = traced_long_tasks(trace_path)
            trace_path.unlink()
        return result
    finally:
        context.close()


# What the page measured of the reply just painted.
STATE = (
    "({t0: __bench.t0, done: __bench.done, painted: __bench.painted, renders: __bench.renders, "
    "paints: __bench.paints, arrivals: __bench.arrivals, origin: performance.timeOrigin})"
)
# The last token's way from the handler to the screen, stage by stage (all in ms).
STAGES = ("emit_to_sent", "sent_to_arrived", "arrived_to_dom", "dom_to_painted")
STAGE_NAMES = {
    "emit_to_sent": "the call to the event sent (server)",
    "sent_to_arrived": "sent to its arrival in the page",
    "arrived_to_dom": "arrival to the DOM showing it",
    "dom_to_painted": "the DOM to the frame painted",
}


def last_token(b: dict[str, Any], record: dict[str, Any]) -> dict[str, float]:
    """The handler's last ``update_message`` to the last token painted, and its stages.

    Server times are seconds since the epoch; the page's are ms from its time origin.
    """
    origin = b["origin"]
    last_seq = record["calls"] + 1  # seq 1 is the empty first delta; token i has seq i + 2

    def holding(events: list[list[float]]) -> float | None:
        return next((t for t, seq, n in events if seq <= last_seq < seq + n), None)

    emit = record["emits"][-1] * 1000 - origin
    sent_s = holding(record.get("sends", []))
    sent = sent_s * 1000 - origin if sent_s is not None else float("nan")
    arrived = holding(b["arrivals"])
    arrived = arrived if arrived is not None else float("nan")
    return {
        "total": b["painted"] - emit,
        "emit_to_sent": sent - emit,
        "sent_to_arrived": arrived - sent,
        "arrived_to_dom": b["done"] - arrived,
        "dom_to_painted": b["painted"] - b["done"],
    }


def last_token_summary(ends: list[dict[str, float]], reply_tokens: int) -> dict[str, Any]:
    """p50/p95/max of the last-token lag over the replies, and the median of each stage."""
    totals = [e["total"] for e in ends]
    return {
        "replies": len(ends),
        "reply_tokens": reply_tokens,
        "p50_ms": r(pct(totals, 50)),
        "p95_ms": r(pct(totals, 95)),
        "max_ms": r(max(totals)),
        "runs_ms": [r(x) for x in totals],
        "stages_p50_ms": {k: r(pct([e[k] for e in ends], 50)) for k in STAGES},
        "stages_max_ms": {k: r(max(e[k] for e in ends)) for k in STAGES},
    }


def traced_long_tasks(path: Path) -> list[dict[str, float]]:
    """Tasks over 50 ms on the page's main thread: wall time and the CPU time within."""
    data = json.loads(path.read_text())
    events = data["traceEvents"] if isinstance(data, dict) else data
    main = {
        (e["pid"], e["tid"])
        for e in events
        if e.get("name") == "thread_name" and e["args"].get("name") == "CrRendererMain"
    }
    return [
        {"wall_ms": r(e["dur"] / 1000), "cpu_ms": r(e.get("tdur", 0) / 1000)}
        for e in events
        if e.get("name") == "RunTask" and (e["pid"], e["tid"]) in main and e.get("dur", 0) > 50_000
    ]


def lags(b: dict[str, Any], emits: list[float], tokens: int) -> dict[str, Any]:
    """Per event: arrival to the DOM update that shows it. Per token: emit to that update."""
    renders: list[float] = sorted(b["renders"])
    origin = b["origin"]

    def rendered_after(t: float) -> float | None:
        return next((x for x in renders if x >= t), None)

    painted_at = dict((dom, painted) for dom, painted in b.get("paints", []))
    event_lags: list[float] = []
    token_lags: list[float] = []
    token_paints: list[float] = []
    for arrived, seq, n in b["arrivals"]:
        shown = rendered_after(arrived)
        if shown is None:
            continue
        event_lags.append(shown - arrived)
        painted = painted_at.get(shown)
        for s in range(seq, seq + n):
            i = s - 2  # seq 1 is the empty first delta; token i has seq i + 2
            if 0 <= i < len(emits):
                token_lags.append(origin + shown - emits[i] * 1000)
                if painted is not None:
                    token_paints.append(origin + painted - emits[i] * 1000)
    last_emit = emits[-1] * 1000 - origin
    return {
        "events": len(b["arrivals"]),
        "render_lag_ms": {
            "p50": r(pct(event_lags, 50)),
            "p95": r(pct(event_lags, 95)),
            "max": r(max(event_lags, default=float("nan"))),
        },
        "emit_to_dom_ms": {
            "p50": r(pct(token_lags, 50)),
            "p95": r(pct(token_lags, 95)),
            "max": r(max(token_lags, default=float("nan"))),
            "tokens_matched": len(token_lags),
        },
        "emit_to_painted_ms": {
            "p50": r(pct(token_paints, 50)),
            "p95": r(pct(token_paints, 95)),
            "max": r(max(token_paints, default=float("nan"))),
        },
        "lag_after_last_emit_ms": r(b["painted"] - last_emit),
    }


def limit_page(browser: Browser, server: Server, name: str, tokens: int) -> dict[str, Any]:
    """One of the two bare pages (``once`` or ``append``) on the same text."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_init_script(INIT)
    page = context.new_page()
    try:
        page.goto(f"{server.url}/_bench/{name}.html")
        wait_until(page, "window.benchReady === true")
        marker = new_marker()
        mode = "once" if name == "once" else "stream"
        cmd = command(mode, tokens, 0, marker)
        res = page.evaluate("([c, m]) => window.benchRun(c, m)", [cmd, marker])
        wall = (res["painted"] - res["t0"]) / 1000
        assert res["chars"] == tokens * 4, res
        return {
            "tokens": tokens,
            "wall_s": r(wall, 3),
            "dom_s": r((res["dom"] - res["t0"]) / 1000, 3),
            "events": res["events"],
            "long_tasks": long_tasks(page, res["t0"], res["painted"]),
        }
    finally:
        context.close()


def cold_load(browser: Browser, server: Server) -> dict[str, Any]:
    """A fresh profile opens the app: time to a usable composer, and bytes transferred."""
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    context.add_init_script(INIT + USABLE)
    page = context.new_page()
    loaded: list[dict[str, Any]] = []

    def finished(request: Any) -> None:
        response = request.response()
        sizes = request.sizes()
        body = response.body() if response else b""
        loaded.append(
            {
                "url": request.url.removeprefix(server.url),
                "transferred": sizes["responseBodySize"] + sizes["responseHeadersSize"],
                "body": len(body),
                "gzip": len(gzip.compress(body, 6)),
                "encoding": (response.headers.get("content-encoding") if response else None),
            }
        )

    page.on("requestfinished", finished)
    try:
        page.goto(server.url)
        wait_until(page, "window.__bench.usable !== undefined")
        usable = page.evaluate("window.__bench.usable")
        page.wait_for_load_state("networkidle")
        return {
            "usable_ms": r(usable),
            "transferred_kib": r(sum(x["transferred"] for x in loaded) / 1024),
            "gzip_kib": r(sum(x["gzip"] for x in loaded) / 1024),
            "requests": loaded,
            "long_tasks": long_tasks(page, 0, usable),
        }
    finally:
        context.close()


def server_alone(quick: bool) -> list[dict[str, Any]]:
    out = RESULTS / "server.tmp"
    clients = ["1", "20"] if quick else ["1", "20", "100"]
    subprocess.run(
        [
            sys.executable,
            ROOT / "bench" / "server_throughput.py",
            "--json",
            out,
            "--clients",
            *clients,
        ],
        check=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    rows: list[dict[str, Any]] = json.loads(out.read_text())
    out.unlink()
    return rows


def summarize(runs: list[dict[str, Any]]) -> dict[str, Any]:
    """Several runs of a workload: the median run, every wall time, the worst long task."""
    n = len(runs)
    if n == 1:
        return runs[0]
    runs = sorted(runs, key=lambda x: x.get("wall_s", x.get("usable_ms", 0)))
    best = dict(runs[len(runs) // 2])
    if "wall_s" in best:
        best["runs_wall_s"] = [x["wall_s"] for x in runs]
    best["long_tasks"] = max((x["long_tasks"] for x in runs), key=lambda t: t["max_ms"])
    best["long_tasks"]["of_runs"] = n
    return best


# -- report ----------------------------------------------------------------------


def versions(browser: Browser) -> dict[str, str]:
    def npm_version(pkg: str) -> str:
        path = CLIENT / "node_modules" / pkg / "package.json"
        return str(json.loads(path.read_text())["version"]) if path.exists() else "?"

    from importlib.metadata import version

    return {
        "python": platform.python_version(),
        "chromium": browser.version,
        "flask_socketio": version("flask-socketio"),
        "python_socketio": version("python-socketio"),
        "svelte": npm_version("svelte"),
        "marked": npm_version("marked"),
        "socket.io-client": npm_version("socket.io-client"),
        "node": subprocess.run(
            ["node", "--version"], capture_output=True, text=True
        ).stdout.strip(),
    }


def machine() -> dict[str, Any]:
    cpu = "?"
    for line in Path("/proc/cpuinfo").read_text().splitlines():
        if line.startswith("model name"):
            cpu = line.split(":", 1)[1].strip()
            break
    return {
        "cpu": cpu,
        "cores": os.cpu_count(),
        "kernel": platform.release(),
        "loadavg_at_start": [r(x, 2) for x in os.getloadavg()],
    }


def verdicts(res: dict[str, Any]) -> list[dict[str, Any]]:
    w1, w2, w3, w4 = res["w1"], res["w2"], res["w3"], res["w4"]
    once = res["limit_once_20k"]
    one = next(x for x in res["server"] if x["clients"] == 1)
    # Per round (the two ran back to back, under the same load), then the median.
    ratio = statistics.median(res["w2_over_once_per_round"] or [w2["wall_s"] / once["wall_s"]])
    worst_task = max(res[k]["long_tasks"]["max_ms"] for k in ("w1", "w2", "w3", "w4") if k in res)
    rss = w2["server_rss_mib"]
    last = w3["last_token"]
    return [
        {"target": "W2 20k tokens < 3 s", "value": f"{w2['wall_s']} s", "met": w2["wall_s"] < 3},
        {
            "target": "W2 <= 1.5x render-once",
            "value": f"{ratio:.2f}x (median of rounds {res['w2_over_once_per_round']})",
            "met": ratio <= 1.5,
        },
        {"target": "W1 5k tokens < 1 s", "value": f"{w1['wall_s']} s", "met": w1["wall_s"] < 1},
        {
            "target": "W3 render lag p95 < 17 ms",
            "value": f"{w3['render_lag_ms']['p95']} ms",
            "met": w3["render_lag_ms"]["p95"] < 17,
        },
        {
            "target": "W3 last token painted <= 16 ms p50, <= 33 ms p95",
            "value": f"{last['p50_ms']} / {last['p95_ms']} ms over {last['replies']} replies",
            "met": last["p50_ms"] <= 16 and last["p95_ms"] <= 33,
        },
        {
            "target": "no long task > 50 ms (W1-W4)",
            "value": f"worst {worst_task} ms" if worst_task else "none",
            "met": worst_task == 0,
        },
        {
            "target": "W4 usable < 300 ms",
            "value": f"{w4['usable_ms']} ms",
            "met": w4["usable_ms"] < 300,
        },
        {
            "target": "W4 < 150 KiB before 1st message",
            "value": f"{w4['transferred_kib']} KiB sent",
            "met": w4["transferred_kib"] < 150,
        },
        {
            "target": "server >= 20k update_message/s, 1 client",
            "value": f"{one['update_message_per_s']}/s",
            "met": one["update_message_per_s"] >= 20000,
        },
        {
            "target": "server memory flat over W2",
            "value": f"RSS {rss['start']} -> peak {rss['peak']} -> {rss['end']} MiB",
            "met": rss["peak"] - rss["start"] < 50,
        },
    ]


def table(res: dict[str, Any]) -> str:
    lines = ["workload                    wall      tok/s   long tasks (n/total/max ms)  notes"]

    def row(name: str, x: dict[str, Any], note: str = "") -> None:
        lt = x["long_tasks"]
        tps = x.get("tokens_per_s", round(x["tokens"] / x["wall_s"]) if x.get("tokens") else "")
        lines.append(
            f"{name:<27} {x['wall_s']:>6.3f} s {tps:>8}   "
            f"{lt['count']:>3} / {lt['total_ms']:>7} / {lt['max_ms']:>6}     {note}"
        )

    for key, name in (("w1", "W1 5k flood (app)"), ("w2", "W2 20k flood (app)")):
        x = res[key]
        row(
            name,
            x,
            f"heap {x['js_heap_mib']} MiB, server RSS peak {x['server_rss_mib']['peak']} MiB",
        )
    row("limit: render once 20k", res["limit_once_20k"])
    row(
        "limit: raw append 20k",
        res["limit_append_20k"],
        f"{res['limit_append_20k']['events']} events",
    )
    row("limit: render once 5k", res["limit_once_5k"])
    w3 = res["w3"]
    row(
        "W3 1k at 100/s (app)",
        w3,
        f"render lag p50/p95 {w3['render_lag_ms']['p50']}/{w3['render_lag_ms']['p95']} ms, "
        f"emit->DOM p95 {w3['emit_to_dom_ms']['p95']} ms, after last emit "
        f"{w3['lag_after_last_emit_ms']} ms",
    )
    last = w3["last_token"]
    stages = ", ".join(f"{k} {v}" for k, v in last["stages_p50_ms"].items())
    lines.append(
        f"W3 last token painted after the last update_message, {last['replies']} replies: "
        f"p50 {last['p50_ms']} ms, p95 {last['p95_ms']} ms, max {last['max_ms']} ms "
        f"(stages p50: {stages})"
    )
    for key in ("w1_traced", "w2_traced"):
        traced = res.get(key, {}).get("traced_long_tasks", [])
        lines.append(
            f"{key[:2].upper()} traced run, tasks > 50 ms (wall/CPU ms): "
            + (", ".join(f"{t['wall_ms']}/{t['cpu_ms']}" for t in traced) or "none")
        )
    w4 = res["w4"]
    lines.append(
        f"W4 cold load: usable {w4['usable_ms']} ms (runs {res['w4_runs_ms']}), "
        f"{w4['transferred_kib']} KiB transferred (as sent: scripts and styles gzipped)"
    )
    for s in res["server"]:
        lines.append(
            f"server alone, {s['clients']:>3} clients: {s['update_message_per_s']:>7} "
            f"update_message/s, {s['us_per_call_in_handler']} us/call, "
            f"{s['deltas_per_event']} deltas/event"
        )
    lines.append("")
    for v in res["verdicts"]:
        lines.append(f"{'MET   ' if v['met'] else 'MISSED'} {v['target']:<42} {v['value']}")
    return "\n".join(lines)


def markdown(res: dict[str, Any]) -> str:
    """The figures as markdown tables, for bench/README.md."""

    def lt(x: dict[str, Any]) -> str:
        t = x["long_tasks"]
        return "none" if not t["count"] else f"{t['count']} (max {t['max_ms']:g} ms)"

    rows = [
        "| workload | wall (median) | runs | tokens/s | long tasks >50 ms (all runs) | notes |",
        "|---|---|---|---|---|---|",
    ]
    for key, name in (
        ("w1", "W1: 5,000 tokens, flood, app"),
        ("w2", "W2: 20,000 tokens, flood, app"),
        ("limit_once_20k", "limit: 20,000 tokens rendered once"),
        ("limit_append_20k", "limit: 20,000 tokens raw append"),
        ("limit_once_5k", "limit: 5,000 tokens rendered once"),
    ):
        x = res[key]
        note = ""
        if "js_heap_mib" in x:
            rss = x["server_rss_mib"]
            note = (
                f"JS heap {x['js_heap_mib']} MiB; server RSS {rss['start']} → {rss['peak']} → "
                f"{rss['end']} MiB"
            )
        elif "events" in x:
            note = f"events: {x['events']}"
        runs = ", ".join(f"{w:g}" for w in x.get("runs_wall_s", [x["wall_s"]]))
        tps = round(x["tokens"] / x["wall_s"])
        rows.append(f"| {name} | {x['wall_s']:g} s | {runs} | {tps:,} | {lt(x)} | {note} |")
    w3 = res["w3"]
    lag, e2d, last = w3["render_lag_ms"], w3["emit_to_dom_ms"], w3["last_token"]
    rows += [
        "",
        "| W3: 1,000 tokens at 100/s | p50 | p95 | max |",
        "|---|---|---|---|",
        f"| render lag per event (arrival → DOM), {w3['events']} events "
        f"| {lag['p50']} ms | {lag['p95']} ms | {lag['max']} ms |",
        f"| emit → DOM per token | {e2d['p50']} ms | {e2d['p95']} ms | {e2d['max']} ms |",
        f"| emit → painted per token | {w3['emit_to_painted_ms']['p50']} ms "
        f"| {w3['emit_to_painted_ms']['p95']} ms | {w3['emit_to_painted_ms']['max']} ms |",
        f"| lag after the last emit (to painted) | {w3['lag_after_last_emit_ms']} ms | | |",
        f"| **last token painted after the last update_message**, {last['replies']} replies "
        f"| {last['p50_ms']} ms | {last['p95_ms']} ms | {last['max_ms']} ms |",
    ]
    rows += [
        f"| … of which {STAGE_NAMES[k]} | {last['stages_p50_ms'][k]} ms | "
        f"| {last['stages_max_ms'][k]} ms |"
        for k in STAGES
    ]
    rows += [
        f"| long tasks | {lt(w3)} | | |",
        "",
        "| W4: cold load | |",
        "|---|---|",
        f"| to a usable composer (median of {len(res['w4_runs_ms'])}) "
        f"| {res['w4']['usable_ms']} ms (runs: {', '.join(f'{x:g}' for x in res['w4_runs_ms'])}) |",
        f"| transferred before the first message | {res['w4']['transferred_kib']} KiB "
        "(as the server sends it: scripts and styles gzipped) |",
        "",
        "| server alone | update_message/s | µs per call in the handler | deltas per event |",
        "|---|---|---|---|",
    ]
    for x in res["server"]:
        rows.append(
            f"| {x['clients']} client{'s' if x['clients'] > 1 else ''} "
            f"| {x['update_message_per_s']:,} | {x['us_per_call_in_handler']} "
            f"| {x['deltas_per_event']} |"
        )
    rows += ["", "| target | measured | |", "|---|---|---|"]
    for v in res["verdicts"]:
        rows.append(f"| {v['target']} | {v['value']} | {'met' if v['met'] else '**missed**'} |")
    return "\n".join(rows)


def summary(paths: list[Path]) -> str:
    """Key figures of several runs side by side, and their median (markdown)."""
    cols: list[tuple[str, Any]] = [
        ("W1 s", lambda r: r["w1"]["wall_s"]),
        ("W2 s", lambda r: r["w2"]["wall_s"]),
        ("once 20k s", lambda r: r["limit_once_20k"]["wall_s"]),
        ("W2/once", lambda r: statistics.median(r["w2_over_once_per_round"])),
        ("append 20k s", lambda r: r["limit_append_20k"]["wall_s"]),
        ("W3 lag p95 ms", lambda r: r["w3"]["render_lag_ms"]["p95"]),
        ("W3 after last emit ms", lambda r: r["w3"]["lag_after_last_emit_ms"]),
        # Runs before the last-token series have none: a blank cell.
        ("W3 last token p50 ms", lambda r: r["w3"].get("last_token", {}).get("p50_ms", "")),
        ("W3 last token p95 ms", lambda r: r["w3"].get("last_token", {}).get("p95_ms", "")),
        (
            "long tasks W1/W2/W3/W4 (max ms)",
            lambda r: "/".join(
                f"{r[k]['long_tasks']['max_ms']:g}" for k in ("w1", "w2", "w3", "w4")
            ),
        ),
        ("W4 ms", lambda r: r["w4"]["usable_ms"]),
        ("W4 KiB", lambda r: r["w4"]["transferred_kib"]),
        ("server 1 client /s", lambda r: r["server"][0]["update_message_per_s"]),
        ("load avg", lambda r: r["machine"]["loadavg_at_start"][0]),
    ]
    runs = [json.loads(p.read_text()) for p in sorted(paths)]
    rows = ["| run (UTC) | " + " | ".join(c for c, _ in cols) + " |"]
    rows.append("|---" * (len(cols) + 1) + "|")
    for run in runs:
        cells = [
            f"{v:g}" if isinstance(v, float | int) else str(v) for v in (f(run) for _, f in cols)
        ]
        rows.append(f"| {run['date'][11:16]} | " + " | ".join(cells) + " |")
    medians = []
    for _, f in cols:
        values = [f(run) for run in runs]
        nums = [v for v in values if isinstance(v, float | int)]
        ok = nums and all(isinstance(v, float | int) or v == "" for v in values)
        medians.append(f"{statistics.median(nums):g}" if ok else "")
    rows.append("| **median** | " + " | ".join(medians) + " |")
    return "\n".join(rows)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--no-build", action="store_true", help="use the existing builds")
    parser.add_argument("--quick", action="store_true", help="smaller workloads (smoke test)")
    parser.add_argument("--repeat", type=int, default=3, help="runs per workload (median kept)")
    parser.add_argument(
        "--w3-replies",
        type=int,
        default=20,
        help="W3: paced replies of 100 tokens after the 1,000-token one, for the last-token lag",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=None,
        help="where the results go (bench/results/latest.json; quick.json with --quick)",
    )
    parser.add_argument(
        "--markdown", action="store_true", help="print the figures of --json as markdown; no run"
    )
    parser.add_argument(
        "--summary", action="store_true", help="print the runs in bench/results/history; no run"
    )
    args = parser.parse_args()
    # A smoke run never replaces the committed figures.
    args.json = args.json or RESULTS / ("quick.json" if args.quick else "latest.json")
    if args.markdown:
        print(markdown(json.loads(args.json.read_text())))
        return 0
    if args.summary:
        print(summary(list(HISTORY.glob("*.json"))))
        return 0
    if not Path(CHROMIUM).exists():
        log(f"Chromium not found at {CHROMIUM}: apt-get install -y chromium")
        return 1
    build_client(args.no_build)
    scale = 10 if args.quick else 1
    res: dict[str, Any] = {"date": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}
    res["machine"] = machine()
    server = Server()
    try:
        with sync_playwright() as pw:
            browser = pw.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
            res["versions"] = versions(browser)
            # Warm-up: Chromium, the server and the JIT, so the first workload is not penalised.
            app_stream(browser, server, 500, 0)
            steps = [
                ("w4", lambda: cold_load(browser, server)),
                ("w1", lambda: app_stream(browser, server, 5000 // scale, 0)),
                ("w2", lambda: app_stream(browser, server, 20000 // scale, 0)),
                ("limit_once_20k", lambda: limit_page(browser, server, "once", 20000 // scale)),
                ("limit_append_20k", lambda: limit_page(browser, server, "append", 20000 // scale)),
                ("limit_once_5k", lambda: limit_page(browser, server, "once", 5000 // scale)),
                (
                    "w3",
                    lambda: app_stream(
                        browser,
                        server,
                        1000 // scale,
                        100,
                        per_event=True,
                        replies=args.w3_replies,
                        reply_tokens=100 // scale,
                    ),
                ),
            ]
            # Interleaved rounds, so that the app and its limits see the same machine load.
            runs: dict[str, list[dict[str, Any]]] = {key: [] for key, _ in steps}
            for i in range(args.repeat):
                for key, step in steps:
                    if key != "w3" or i == 0:
                        log(f"round {i + 1}/{args.repeat}: {key} ...")
                        runs[key].append(step())
            for key in runs:
                res[key] = summarize(runs[key])
            res["w4_runs_ms"] = [x["usable_ms"] for x in runs["w4"]]
            res["w4"]["usable_ms"] = statistics.median(res["w4_runs_ms"])
            res["w2_over_once_per_round"] = [
                r(a["wall_s"] / b["wall_s"], 2)
                for a, b in zip(runs["w2"], runs["limit_once_20k"], strict=True)
            ]
            log("w1, w2 traced (for long-task CPU time; not timed) ...")
            res["w1_traced"] = app_stream(browser, server, 5000 // scale, 0, trace=True)
            res["w2_traced"] = app_stream(browser, server, 20000 // scale, 0, trace=True)
            browser.close()
    finally:
        server.close()
    log("server alone ...")
    res["server"] = server_alone(args.quick)
    res["verdicts"] = verdicts(res)
    args.json.parent.mkdir(parents=True, exist_ok=True)
    args.json.write_text(json.dumps(res, indent=1) + "\n")
    if args.json == RESULTS / "latest.json" and not args.quick:
        # Every full run is kept: on a shared machine one run says little on its own.
        HISTORY.mkdir(exist_ok=True)
        (HISTORY / f"{res['date'].replace(':', '-')}.json").write_text(args.json.read_text())
    print(table(res))
    print(f"\nJSON: {args.json.relative_to(ROOT) if args.json.is_relative_to(ROOT) else args.json}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
