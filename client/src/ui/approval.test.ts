import { describe, expect, it } from "vitest";
import { uiMessage } from "../core/conversation";
import type { Ask } from "../protocol.gen";
import { approvalCallStatus, approvalOf, approvedArgs } from "./approval";

const ask = (extra: Partial<Ask> = {}): Ask => ({
  id: "k1",
  kind: "approve",
  tool_call_id: "c1",
  arguments: '{"to": "ann@example.com"}',
  ...extra,
});

describe("an approval on its call's block", () => {
  it("is found by the call's id, with its prompt and status", () => {
    const question = uiMessage(
      "q1",
      { role: "assistant", content: "Send it?", ask: ask() },
      "incomplete",
      null,
    );
    const approvals = new Map([["c1", question]]);
    expect(approvalOf(approvals, "c1")).toEqual({
      ask: ask(),
      prompt: "Send it?",
      status: "incomplete",
    });
    expect(approvalOf(approvals, "c2")).toBeNull();
    expect(approvalOf(approvals, undefined)).toBeNull();
  });

  it("shows the arguments the call ran with: the user's once approved", () => {
    const edited = '{"to":"bob@example.com"}';
    const original = ask().arguments ?? "";
    expect(approvedArgs(ask(), original)).toBe(original);
    const approved = ask({ status: "answered", answer: { approved: true, arguments: edited } });
    expect(approvedArgs(approved, original)).toBe(edited);
    const denied = ask({ status: "answered", answer: { approved: false, arguments: edited } });
    expect(approvedArgs(denied, original)).toBe(original);
  });

  it("waits while its reply runs, says denied once refused, else is the call's own", () => {
    expect(approvalCallStatus(ask(), false, true, "running")).toBe("waiting");
    expect(approvalCallStatus(ask(), false, false, "error")).toBe("error");
    const denied = ask({ status: "answered", answer: { approved: false, arguments: "{}" } });
    expect(approvalCallStatus(denied, true, false, "done")).toBe("denied");
    const approved = ask({ status: "answered", answer: { approved: true, arguments: "{}" } });
    expect(approvalCallStatus(approved, true, true, "done")).toBe("done");
    expect(approvalCallStatus(ask({ status: "cancelled" }), false, false, "cancelled")).toBe(
      "cancelled",
    );
  });
});
