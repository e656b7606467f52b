// Limit 1: the final text arrives in one event and is rendered once, with the app's
// markdown pipeline (the same renderer, sanitizer and stylesheet).
import { loadRenderer, renderMarkdown } from "../src/ui/markdown/index";
import "../src/styles/markdown.css";
import { connect, contentOf, nextPaint, request } from "./common";

// Loaded before the page says it is ready: the limit does not wait for its libraries.
await loadRenderer();
const socket = connect();
const root = document.getElementById("out") as HTMLElement;

window.benchRun = async (command, marker) => {
  root.replaceChildren();
  let text = "";
  let events = 0;
  const { t0, finished } = request(socket, command, (p) => {
    events += 1;
    text += contentOf(p);
    if (!text.endsWith(marker)) return false;
    renderMarkdown(root, text);
    return true;
  });
  const dom = await finished;
  const painted = await nextPaint();
  return { t0, dom, painted, events, chars: text.length };
};
