import { mount } from "svelte";
import App from "./ui/App.svelte";
import SharedView from "./ui/SharedView.svelte";
import { ChatStore } from "./app-state.svelte";
import { LocalPersistence } from "./core/persistence";
import { shareTokenOf } from "./core/share";
import { ChatSession } from "./session";
import { loadRenderer } from "./ui/markdown/index";
import "./styles/app.css";
import "./styles/markdown.css";

const target = document.getElementById("app");
if (!target) throw new Error("gptchat: index.html has no #app element");

// scheduler.yield() keeps the page's priority (a timer may wait behind the page load).
const nextTask = (): Promise<void> =>
  typeof scheduler !== "undefined" && typeof scheduler.yield === "function"
    ? scheduler.yield()
    : new Promise((resolve) => setTimeout(resolve, 0));

// A shared link (`?share=<token>`) opens read-only: no store, no socket, no sidebar.
const shareToken = shareTokenOf(location.search);
if (shareToken !== null) {
  mount(SharedView, { target, props: { token: shareToken } });
} else {
  const store = new ChatStore(new LocalPersistence());
  const session = new ChatSession(store);
  store.attach(session);
  window.addEventListener("pagehide", () => store.saveNow());
  // The socket connects while the page mounts. Mounting takes a task of its own: with the
  // bundle's evaluation in the same task, a busy or slow machine saw one long task (over
  // 50 ms) that would hold up the first input.
  session.connect();
  void nextTask().then(() => mount(App, { target, props: { store } }));
}

// The markdown code is not needed for a first paint; fetch it once the page is idle so
// the first reply renders without waiting for it (a failed fetch is retried on use).
const preload = () => void loadRenderer().catch(() => undefined);
if ("requestIdleCallback" in window) requestIdleCallback(preload, { timeout: 2000 });
else setTimeout(preload, 500);
