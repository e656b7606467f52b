import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { applyDelta, finishMessage, newMessage } from "./merge";
import type { AccMessage, Delta } from "./merge";

// The Responses API vectors (tests/fixtures/responses-streams, written by
// tests/fake_responses.py): the updates the server's translator makes of each stream,
// folded here as the browser folds the deltas it is sent, into the expected messages.
const FOLDER = path.resolve(__dirname, "../../..", "tests", "fixtures", "responses-streams");

interface Vector {
  name: string;
  expected_updates: [string, Delta][];
  expected_messages: AccMessage[];
  expected_error?: string;
}

function fold(updates: [string, Delta][]): AccMessage[] {
  // In order of first update, as the Python suite compares them.
  const accs = new Map<string, AccMessage>();
  for (const [id, delta] of updates) {
    let acc = accs.get(id);
    if (!acc) accs.set(id, (acc = newMessage()));
    applyDelta(acc, delta);
  }
  return [...accs.values()].map(finishMessage);
}

const files = readdirSync(FOLDER).filter((f) => f.endsWith(".json"));

describe("Responses API vectors, folded by the browser", () => {
  it("are all there", () => expect(files.length).toBeGreaterThanOrEqual(12));
  for (const file of files) {
    it(file, () => {
      const vector = JSON.parse(readFileSync(path.join(FOLDER, file), "utf8")) as Vector;
      // A failed stream: the messages sent before it failed stay as they were.
      expect(fold(vector.expected_updates)).toEqual(vector.expected_messages);
    });
  }
  it("streams built-in tool calls as whole lists of output items", () => {
    const vector = JSON.parse(
      readFileSync(path.join(FOLDER, "09_code_interpreter_call.json"), "utf8"),
    ) as Vector;
    const codes = vector.expected_updates
      .map(([, d]) => d["output_items"])
      .filter(Array.isArray)
      .map((items) => (items as { code?: string }[])[0]?.code ?? "");
    expect(codes.length).toBeGreaterThan(3);
    expect(new Set(codes).size).toBeGreaterThan(3); // the code grows, update by update
  });
});
