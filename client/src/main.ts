import { mount } from "svelte";
import App from "./ui/App.svelte";
import { ChatStore } from "./app-state.svelte";
import { loadRenderer } from "./core/markdown/index";
import "./styles/app.css";
import "./styles/markdown.css";

const target = document.getElementById("app");
if (!target) throw new Error("gptchat: index.html has no #app element");
const store = new ChatStore();
mount(App, { target, props: { store } });
store.connect();

// The markdown code is not needed for a first paint; fetch it once the page is idle so
// the first reply renders without waiting for it (a failed fetch is retried on use).
const preload = () => void loadRenderer().catch(() => undefined);
if ("requestIdleCallback" in window) requestIdleCallback(preload, { timeout: 2000 });
else setTimeout(preload, 500);
