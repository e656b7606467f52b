import { describe, expect, it } from "vitest";
import { fence, incompleteNote, itemView, pretty, visibleItems } from "./outputItems";
import type { Section } from "./outputItems";

const PNG =
  "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==";

const kinds = (sections: Section[]) => sections.map((s) => `${s.kind}:${s.label}`);

describe("visibleItems", () => {
  it("keeps items in order, without reasoning and what is no object", () => {
    const items = [
      { type: "reasoning", summary: [] },
      { type: "web_search_call", id: "ws" },
      "nonsense",
      null,
      [1],
      { type: "response.future_widget.delta" },
    ];
    expect(visibleItems(items).map((i) => i["type"])).toEqual([
      "web_search_call",
      "response.future_widget.delta",
    ]);
    expect(visibleItems(undefined)).toEqual([]);
    expect(visibleItems({ type: "web_search_call" })).toEqual([]);
  });
});

describe("itemView: status", () => {
  const search = (status?: string) => ({
    type: "web_search_call",
    ...(status ? { status } : {}),
    action: { type: "search", query: "capital of France" },
  });
  it("shows each phase while the reply streams", () => {
    expect(itemView(search("in_progress"), "running")).toMatchObject({
      state: "running",
      label: "In progress",
      title: "Searching the web: capital of France",
    });
    expect(itemView(search("searching"), "running").label).toBe("Searching");
    expect(
      itemView({ type: "code_interpreter_call", status: "interpreting" }, "running").label,
    ).toBe("Running");
    expect(itemView({ type: "x", status: "thinking_hard" }, "running").label).toBe("thinking hard");
  });
  it("is done, failed or incomplete as the API says, whatever the reply does", () => {
    for (const settle of ["running", "cancelled", "error"] as const) {
      expect(itemView(search("completed"), settle)).toMatchObject({
        state: "done",
        label: "Completed",
        title: "Searched the web: capital of France",
      });
      expect(itemView(search("failed"), settle)).toMatchObject({ state: "error", label: "Failed" });
      expect(itemView(search("incomplete"), settle).state).toBe("error");
    }
  });
  it("settles an unfinished item as cancelled (stopped) or failed once the reply ends", () => {
    expect(itemView(search("searching"), "cancelled")).toMatchObject({
      state: "cancelled",
      label: "Cancelled",
    });
    expect(itemView(search("searching"), "error")).toMatchObject({
      state: "error",
      label: "Did not finish",
    });
  });
  it("is done when the item has no status (it is whole as it came)", () => {
    expect(
      itemView({ type: "mcp_list_tools", server_label: "s", tools: [] }, "running").state,
    ).toBe("done");
  });
});

describe("itemView: each built-in tool", () => {
  it("web search: its sources as links, http(s) only", () => {
    const view = itemView(
      {
        type: "web_search_call",
        status: "completed",
        action: {
          type: "search",
          query: "q",
          sources: [
            { type: "url", url: "https://example.com/paris" },
            { type: "url", url: "javascript:alert(1)" },
            { type: "url" },
          ],
        },
      },
      "running",
    );
    expect(view.sections).toEqual([
      {
        kind: "links",
        label: "Sources",
        links: [
          {
            href: "https://example.com/paris",
            text: "https://example.com/paris",
            host: "example.com",
          },
          { href: null, text: "javascript:alert(1)", host: "" },
        ],
      },
    ]);
    const open = itemView(
      {
        type: "web_search_call",
        status: "completed",
        action: { type: "open_page", url: "https://a.org/x" },
      },
      "running",
    );
    expect(open.title).toBe("Opened a.org");
    const find = itemView(
      {
        type: "web_search_call",
        status: "completed",
        action: { type: "find_in_page", url: "https://a.org/x", pattern: "Paris" },
      },
      "running",
    );
    expect(find.title).toBe("Searched a page for “Paris”");
    expect(itemView({ type: "web_search_call", status: "in_progress" }, "running").title).toBe(
      "Searching the web",
    );
    // Nothing inside, nothing to open: its query is in its title.
    const plain = itemView(
      { type: "web_search_call", status: "completed", action: { type: "search", query: "q" } },
      "running",
    );
    expect(plain).toMatchObject({ title: "Searched the web: q", sections: [], expandable: false });
    expect(open.expandable).toBe(true);
  });
  it("code interpreter: the code as a python block, logs, images", () => {
    const item = {
      type: "code_interpreter_call",
      status: "completed",
      code: "print(1 + 1)",
      outputs: [
        { type: "logs", logs: "2\n" },
        { type: "image", url: `data:image/png;base64,${PNG}` },
        { type: "chart", data: [1] },
      ],
    };
    const view = itemView(item, "running");
    expect(view.title).toBe("Ran code");
    expect(kinds(view.sections)).toEqual(["code:Code", "text:Output", "image:Image", "text:chart"]);
    expect(view.sections[0]).toMatchObject({ markdown: "```python\nprint(1 + 1)\n```" });
    expect(view.sections[1]).toMatchObject({ text: "2\n" });
    // While it streams the fence stays open: each new text extends the last.
    const live = itemView({ ...item, status: "interpreting", outputs: null }, "running");
    expect(live.title).toBe("Running code");
    expect(live.sections).toEqual([
      { kind: "code", label: "Code", markdown: "```python\nprint(1 + 1)", key: "```python\n" },
    ]);
  });
  it("image generation: the base64 result as a data: image, else the partial one", () => {
    const done = itemView(
      { type: "image_generation_call", status: "completed", result: PNG, revised_prompt: "A dot" },
      "running",
    );
    // The image in view under a compact block that opens on the prompt, as ChatGPT has it.
    expect(done).toMatchObject({ title: "Generated an image", state: "done", expandable: true });
    expect(done.figure).toEqual({
      url: `data:image/png;base64,${PNG}`,
      alt: "A dot",
      preview: false,
    });
    expect(done.sections).toEqual([{ kind: "text", label: "Prompt", text: "A dot" }]);
    const bare = itemView(
      { type: "image_generation_call", status: "completed", result: PNG },
      "running",
    );
    expect(bare).toMatchObject({ expandable: false, figure: { alt: "Generated image" } });
    const partial = itemView(
      {
        type: "image_generation_call",
        status: "generating",
        result: null,
        partial_image_b64: PNG,
        output_format: "webp",
      },
      "running",
    );
    expect(partial.title).toBe("Generating an image");
    expect(partial.figure).toEqual({
      url: `data:image/webp;base64,${PNG}`,
      alt: "Partial image",
      preview: true,
    });
    expect(partial.expandable).toBe(false);
    const waiting = itemView({ type: "image_generation_call", status: "generating" }, "running");
    expect(waiting).toMatchObject({ state: "running", expandable: false, figure: null });
    // Not base64: no data: URL is made of it (it could end the URL and start another).
    const bad = itemView(
      { type: "image_generation_call", status: "completed", result: 'x" onerror="alert(1)' },
      "running",
    );
    expect(bad.sections).toEqual([]);
    expect(bad.figure).toBeNull();
    const failed = itemView(
      {
        type: "image_generation_call",
        status: "failed",
        error: { message: "Blocked by moderation", type: "moderation_blocked" },
      },
      "running",
    );
    expect(failed).toMatchObject({ state: "error", title: "Image generation failed" });
    expect(failed.sections).toEqual([
      { kind: "text", label: "Error", text: "Blocked by moderation", error: true },
    ]);
  });
  it("mcp: a call's arguments, output and error; a server's tools", () => {
    const call = itemView(
      {
        type: "mcp_call",
        status: "completed",
        server_label: "deepwiki",
        name: "ask_question",
        arguments: '{"repo":"openai/openai-python"}',
        output: "An answer",
        error: null,
      },
      "running",
    );
    expect(call.title).toBe("Called deepwiki.ask_question");
    expect(call.sections).toEqual([
      { kind: "text", label: "Arguments", text: '{\n  "repo": "openai/openai-python"\n}' },
      { kind: "text", label: "Output", text: "An answer" },
    ]);
    const streaming = itemView(
      {
        type: "mcp_call",
        status: "in_progress",
        server_label: "s",
        name: "t",
        arguments: '{"a": "b',
      },
      "running",
    );
    expect(streaming.title).toBe("Calling s.t");
    expect(streaming.sections[0]).toMatchObject({ text: '{\n  "a": "b"\n}' });
    const failed = itemView(
      {
        type: "mcp_call",
        server_label: "s",
        name: "t",
        arguments: "{}",
        error: { type: "http_error", code: 500, message: "Server down" },
      },
      "running",
    );
    expect(failed).toMatchObject({ state: "error", label: "Failed" });
    expect(failed.sections.at(-1)).toEqual({
      kind: "text",
      label: "Error",
      text: "Server down",
      error: true,
    });
    const tools = itemView(
      {
        type: "mcp_list_tools",
        server_label: "deepwiki",
        tools: [
          { name: "read_wiki", description: "Read  a\nwiki", input_schema: {} },
          { input_schema: {} },
          "junk",
        ],
      },
      "running",
    );
    expect(tools.title).toBe("Listed tools of deepwiki");
    expect(tools.sections).toEqual([
      {
        kind: "entries",
        label: "Tools",
        entries: [
          { name: "read_wiki", detail: "Read a wiki" },
          { name: "(unnamed)", detail: "" },
        ],
      },
    ]);
    const approval = itemView(
      { type: "mcp_approval_request", server_label: "s", name: "t", arguments: "{}" },
      "running",
    );
    expect(approval).toMatchObject({
      state: "waiting",
      label: "Approval needed",
      title: "Wants to call s.t",
      expandable: true,
    });
    const past = itemView(
      { type: "mcp_approval_request", server_label: "s", name: "t", arguments: "{}" },
      "error",
    );
    expect(past).toMatchObject({ state: "waiting", label: "Approval requested" });
    expect(kinds(approval.sections)).toEqual(["text:Server", "text:Tool", "text:Arguments"]);
  });
  it("file search: its queries in the title, result files and snippets", () => {
    const view = itemView(
      {
        type: "file_search_call",
        status: "completed",
        queries: ["refund policy", "returns"],
        results: [
          {
            file_id: "file-1",
            filename: "policy.pdf",
            score: 0.912,
            text: "Refunds within 30 days.",
          },
          { file_id: "file-2", text: "x".repeat(1000) },
        ],
      },
      "running",
    );
    expect(view.title).toBe("File search: refund policy, returns");
    const [results] = view.sections;
    expect(results).toMatchObject({ kind: "entries", label: "Results" });
    const entries = (results as Section & { kind: "entries" }).entries;
    expect(entries[0]).toEqual({ name: "policy.pdf · 0.91", detail: "Refunds within 30 days." });
    expect(entries[1]?.name).toBe("file-2");
    expect(entries[1]?.detail.length).toBe(400);
    expect(
      itemView({ type: "file_search_call", status: "searching", queries: [] }, "running").title,
    ).toBe("Searching files");
  });
  it("the other built-in calls get a title and their input", () => {
    expect(
      itemView(
        {
          type: "computer_call",
          status: "completed",
          action: { type: "double_click", x: 1, y: 2 },
        },
        "running",
      ).title,
    ).toBe("Used the computer: double click");
    expect(
      itemView(
        { type: "custom_tool_call", name: "grep", input: "needle", call_id: "c" },
        "running",
      ),
    ).toMatchObject({
      title: "Called grep",
      sections: [{ kind: "text", label: "Input", text: "needle" }],
    });
    const shell = itemView(
      {
        type: "local_shell_call",
        status: "completed",
        action: { type: "exec", command: ["ls", "-l"] },
      },
      "running",
    );
    expect(shell.sections[0]).toMatchObject({ kind: "code", markdown: "```bash\nls -l\n```" });
    const patch = itemView(
      {
        type: "apply_patch_call",
        status: "completed",
        operation: { type: "create_file", path: "a.py", diff: "+x" },
      },
      "running",
    );
    expect(patch.title).toBe("Created a.py");
  });
});

describe("itemView: anything else", () => {
  it("shows an unknown type as its type and its JSON", () => {
    const event = { type: "response.future_widget.delta", widget: "spinning", sequence_number: 5 };
    const view = itemView(event, "running");
    expect(view).toMatchObject({ type: "response.future_widget.delta", state: "done" });
    expect(view.title).toBe("response.future_widget.delta");
    expect(view.sections).toEqual([
      { kind: "text", label: "", text: JSON.stringify(event, null, 2) },
    ]);
  });
  it("never throws on shapes its type does not promise", () => {
    const odd = [
      { type: "web_search_call", action: "search", status: 3 },
      { type: "code_interpreter_call", code: 5, outputs: "logs" },
      { type: "image_generation_call", result: 7 },
      { type: "mcp_call", arguments: null, error: 5 },
      { type: "mcp_list_tools", tools: { a: 1 } },
      { type: "file_search_call", queries: "q", results: [null, 1] },
      { type: "computer_call", actions: 4 },
      { type: "shell_call", action: { commands: [1, "ls"] } },
      { type: 42 },
      {},
      "a string",
      7,
      null,
    ];
    for (const item of odd) {
      const view = itemView(item, "running");
      expect(typeof view.title).toBe("string");
      expect(view.title.length).toBeGreaterThan(0);
    }
    expect(itemView(null, "running").title).toBe("Unknown item");
  });
  it("keeps a long title short", () => {
    const view = itemView(
      {
        type: "web_search_call",
        status: "completed",
        action: { type: "search", query: "q".repeat(500) },
      },
      "running",
    );
    expect(view.title.length).toBe(200);
    expect(view.title.endsWith("…")).toBe(true);
  });
});

describe("helpers", () => {
  it("fences code so that no backtick run inside closes it", () => {
    expect(fence("a ```` b", "python").markdown).toBe("`````python\na ```` b\n`````");
    expect(fence("x", "py<script>").key).toBe("```pyscript\n");
  });
  it("pretty-prints JSON strings and values", () => {
    expect(pretty('{"a":1}')).toBe('{\n  "a": 1\n}');
    expect(pretty("plain words")).toBe("plain words");
    expect(pretty("")).toBe("");
    expect(pretty({ a: [1] })).toBe('{\n  "a": [\n    1\n  ]\n}');
    expect(pretty(undefined)).toBe("undefined");
  });
});

describe("incompleteNote", () => {
  it("says why a reply is incomplete", () => {
    expect(incompleteNote({ reason: "max_output_tokens" })).toBe(
      "This reply is incomplete: it reached the output token limit.",
    );
    expect(incompleteNote({ reason: "content_filter" })).toBe(
      "This reply is incomplete: the content filter stopped it.",
    );
    expect(incompleteNote({ reason: "server_busy" })).toBe(
      "This reply is incomplete: server_busy.",
    );
    expect(incompleteNote({ reason: "unknown" })).toBe("This reply is incomplete.");
    expect(incompleteNote({})).toBe("This reply is incomplete.");
    expect(incompleteNote(null)).toBeNull();
    expect(incompleteNote(undefined)).toBeNull();
    expect(incompleteNote("max_output_tokens")).toBeNull();
  });
});
