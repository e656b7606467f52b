// A Svelte action that renders (streamed) markdown into its node. Svelte calls `update`
// when the params change, which the store limits to once per animation frame.
import { StreamingMarkdown } from "../core/markdown/index";

export interface MarkdownParams {
  text: string;
  streaming: boolean;
}

// A blocked remote image is a button naming its host; a click is the reader's consent
// to load it (with no referrer).
function onImageClick(event: MouseEvent): void {
  const target = event.target instanceof Element ? event.target : null;
  const button = target?.closest<HTMLElement>(".md-image-blocked");
  const src = button?.dataset["src"];
  if (!button || !src || !/^https?:\/\//i.test(src)) return;
  const img = document.createElement("img");
  img.src = src;
  img.alt = button.dataset["alt"] ?? "";
  img.referrerPolicy = "no-referrer";
  button.replaceWith(img);
}

export function markdown(node: HTMLElement, params: MarkdownParams) {
  const md = new StreamingMarkdown(node);
  node.addEventListener("click", onImageClick);
  const apply = (p: MarkdownParams) => {
    md.update(p.text);
    if (!p.streaming) md.finish();
  };
  apply(params);
  return {
    update: apply,
    destroy: () => {
      node.removeEventListener("click", onImageClick);
      md.destroy();
    },
  };
}
