import type { PartType } from "./types";

/** `{"type": "text", "text": ...}`: markdown in a reply, plain text in the user's bubble. */
export const text: PartType<"markdown"> = {
  read: (part) =>
    typeof part["text"] === "string" ? { kind: "markdown", text: part["text"] } : null,
  asText: (segment) => segment.text,
  keepOnEdit: false, // the edited text takes its place
};
