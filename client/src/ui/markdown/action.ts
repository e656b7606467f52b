// A Svelte action that renders (streamed) markdown into its node. Svelte calls `update`
// when the params change, which the store limits to once per animation frame.
import { StreamingMarkdown } from "./index";

export interface MarkdownParams {
  text: string;
  streaming: boolean;
}

export function markdown(node: HTMLElement, params: MarkdownParams) {
  const md = new StreamingMarkdown(node);
  const apply = (p: MarkdownParams) => {
    md.update(p.text);
    if (!p.streaming) md.finish();
  };
  apply(params);
  return {
    update: apply,
    destroy: () => md.destroy(),
  };
}
