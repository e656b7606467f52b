import { readFileSync, readdirSync } from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import {
  appendBase64,
  applyDelta,
  finishMessage,
  foldChoices,
  newMessage,
  parsePartialJson,
} from "./merge";
import type { Delta } from "./merge";

const ROOT = path.resolve(__dirname, "../../..");
// The shared vectors, vendored into the repo (tests/unit/test_merge.py checks them for drift).
const VECTORS = path.join(ROOT, "tests", "fixtures", "openai-streams");

interface Vector {
  chunks: { choices: Record<string, unknown>[] }[];
  expected: { choices: { index: number }[] };
}

// The vectors' comparison: only expected keys, null matches missing, lists exact.
function matches(expected: unknown, actual: unknown, where = ""): void {
  if (Array.isArray(expected)) {
    expect(Array.isArray(actual), `${where} is a list`).toBe(true);
    const list = actual as unknown[];
    expect(list.length, `${where} length`).toBe(expected.length);
    expected.forEach((e, i) => matches(e, list[i], `${where}[${i}]`));
  } else if (typeof expected === "object" && expected !== null) {
    expect(typeof actual, `${where} is an object`).toBe("object");
    const obj = actual as Record<string, unknown>;
    for (const [key, value] of Object.entries(expected)) {
      if (value === null) expect(obj[key] ?? null, `${where}.${key}`).toBeNull();
      else matches(value, obj[key], `${where}.${key}`);
    }
  } else {
    expect(actual, where).toEqual(expected);
  }
}

const files = readdirSync(VECTORS).filter((f) => f.endsWith(".json"));

describe("shared OpenAI stream vectors", () => {
  it("are all there", () => expect(files.length).toBeGreaterThanOrEqual(12));
  for (const file of files) {
    it(file, () => {
      const vector = JSON.parse(readFileSync(path.join(VECTORS, file), "utf8")) as Vector;
      for (const expected of vector.expected.choices) {
        const choices = vector.chunks
          .flatMap((c) => c.choices)
          .filter((c) => c["index"] === expected.index);
        matches(expected, foldChoices(choices), file);
      }
    });
  }
});

function fold(...deltas: Delta[]) {
  const acc = newMessage();
  for (const d of deltas) applyDelta(acc, d);
  return finishMessage(acc);
}

describe("shapes the vectors leave out", () => {
  it("does not double a restated name or id", () => {
    const m = fold(
      { tool_calls: [{ index: 0, id: "c1", function: { name: "get_weather", arguments: "{" } }] },
      { tool_calls: [{ index: 0, id: "c1", function: { name: "get_weather", arguments: "}" } }] },
    );
    expect(m.tool_calls).toEqual([
      { id: "c1", function: { name: "get_weather", arguments: "{}" } },
    ]);
  });
  it("joins a name split across fragments", () => {
    const m = fold(
      { tool_calls: [{ index: 0, function: { name: "get_" } }] },
      { tool_calls: [{ index: 0, function: { name: "weather" } }] },
    );
    expect(m.tool_calls?.[0]?.function?.name).toBe("get_weather");
  });
  it("treats index as a key, and keeps calls sorted", () => {
    const m = fold(
      { tool_calls: [{ index: 2, id: "b" }] },
      { tool_calls: [{ index: 1, id: "a" }] },
    );
    expect(m.tool_calls).toEqual([{ id: "a" }, { id: "b" }]);
  });
  it("merges full messages into empty unchanged", () => {
    const full = {
      role: "assistant",
      content: null,
      tool_calls: [
        { id: "a", type: "function", function: { name: "f", arguments: "{}" } },
        { id: "b", type: "function", function: { name: "g", arguments: "[]" } },
      ],
    };
    expect(fold(full)).toEqual(full);
    const tool = { role: "tool", tool_call_id: "a", content: "42" };
    expect(fold(tool)).toEqual(tool);
    const user = { role: "user", content: [{ type: "text", text: "hi" }] };
    expect(fold(user)).toEqual(user);
  });
  it("ignores repeated roles and nulls", () => {
    const m = fold(
      { role: "assistant", content: "" },
      { role: "assistant", content: "a" },
      { role: null, content: null },
      { content: "b", tool_calls: [] },
    );
    expect(m).toEqual({ role: "assistant", content: "ab" });
  });
  it("never shares the delta's objects", () => {
    const delta = { role: "user", content: [{ type: "text", text: "x" }] };
    const acc = newMessage();
    applyDelta(acc, delta);
    (acc.content as unknown[]).push({ type: "text", text: "y" });
    expect(delta.content).toHaveLength(1);
  });
});

interface PartialCase {
  text: string;
  value: unknown;
}

describe("parsePartialJson (same cases as the Python suite)", () => {
  const cases = JSON.parse(
    readFileSync(path.join(ROOT, "tests", "fixtures", "partial_json_cases.json"), "utf8"),
  ) as PartialCase[];
  for (const c of cases) {
    it(JSON.stringify(c.text), () => expect(parsePartialJson(c.text)).toEqual(c.value));
  }
});

interface AudioCase {
  name: string;
  deltas: Delta[];
  expected: Record<string, unknown>;
}

// The audio vectors tests/unit/test_merge_audio.py runs too: the same rule on both sides.
const AUDIO = JSON.parse(
  readFileSync(path.join(ROOT, "tests", "fixtures", "merge-audio.json"), "utf8"),
) as { cases: AudioCase[] };

describe("audio merge vectors (tests/fixtures/merge-audio.json)", () => {
  it("are all there", () => expect(AUDIO.cases.length).toBeGreaterThanOrEqual(4));
  for (const c of AUDIO.cases) {
    it(c.name, () => expect(fold(...c.deltas)).toEqual({ content: null, ...c.expected }));
  }

  it("joins base64 pieces as their bytes, whatever the cut", () => {
    // A seeded generator, so a failure can be replayed.
    let seed = 14;
    const next = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const b64 = (bytes: number[]) => btoa(String.fromCharCode(...bytes));
    for (let round = 0; round < 300; round++) {
      const pieces = Array.from({ length: 1 + next(6) }, () =>
        Array.from({ length: next(9) }, () => next(256)),
      );
      const joined = pieces.reduce((acc, piece) => appendBase64(acc, b64(piece)), "");
      expect(joined).toBe(b64(pieces.flat()));
    }
  });

  it("appends text that is not base64 as it is, losing nothing", () => {
    expect(appendBase64("QQ==", "not base64!")).toBe("QQ==not base64!");
  });
});
