import type { PartType } from "./types";

/** `{"type": "refusal", "refusal": ...}`: the model declined, in its words. */
export const refusal: PartType<"refusal"> = {
  read: (part) =>
    typeof part["refusal"] === "string" ? { kind: "refusal", text: part["refusal"] } : null,
  asText: (segment) => segment.text,
  keepOnEdit: false,
};
