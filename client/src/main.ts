import { mount } from "svelte";
import App from "./ui/App.svelte";
import { ChatStore } from "./app-state.svelte";
import "./styles/app.css";
import "./styles/markdown.css";

const target = document.getElementById("app");
if (!target) throw new Error("gptchat: index.html has no #app element");
const store = new ChatStore();
mount(App, { target, props: { store } });
store.connect();
