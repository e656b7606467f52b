"""The benchmark's "painted" probe (bench/render.py INIT) in Chromium: no frame of its own.

A DOM change made inside an animation frame callback is painted by that frame; one made
in a task, by the next. The probe used to wait for a requestAnimationFrame in both
cases, which for the app (it renders from a frame callback) counted one frame (16.7 ms)
more than the screen took. Asserted by the order of callbacks, not by time.
"""

from __future__ import annotations

from playwright.sync_api import Page

from tests.support import load_bench

# A change to the page, watched as bench/render.py's WATCH does: the probe is called from
# the MutationObserver's callback. `inFrame` says where the change is made.
ORDER = """
(inFrame) => new Promise((resolve) => {
  const order = [];
  const done = (what) => { order.push(what); if (order.length === 2) resolve(order); };
  new MutationObserver((_, obs) => {
    obs.disconnect();
    window.__bench.afterPaint(() => done("painted"));
  }).observe(document.body, { childList: true, subtree: true });
  const change = () => {
    const p = document.createElement("p");
    p.textContent = "The end: a table, two code blocks and $e^{i\\\\pi} + 1 = 0$.";
    document.body.append(p);
  };
  if (inFrame) {
    requestAnimationFrame(() => {
      requestAnimationFrame(() => done("next frame"));
      change();
    });
  } else {
    setTimeout(() => {
      requestAnimationFrame(() => done("next frame"));
      change();
    }, 0);
  }
})
"""


def open_probe(page: Page) -> None:
    """A blank page with the probe installed before its scripts, as the benchmark does."""
    page.add_init_script(load_bench("render").INIT)
    page.goto("data:text/html,<!doctype html><title>probe</title><body></body>")


def test_a_change_in_a_frame_callback_is_painted_by_that_frame(page: Page) -> None:
    open_probe(page)
    assert page.evaluate(ORDER, True) == ["painted", "next frame"]


def test_a_change_in_a_task_is_painted_by_the_next_frame(page: Page) -> None:
    open_probe(page)
    assert page.evaluate(ORDER, False) == ["next frame", "painted"]
