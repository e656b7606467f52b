import type { PartType, RawPart } from "./types";

/** The type a part names, for a label: "unknown" when it names none. */
export function typeOf(part: unknown): string {
  if (typeof part !== "object" || part === null) return typeof part;
  const type = (part as RawPart).type;
  return typeof type === "string" && type ? type : "unknown";
}

/** The placeholder for `part`, which may be anything (a stray string says "string"). */
export function unknownSegment(part: unknown): { kind: "unsupported"; type: string } {
  return { kind: "unsupported", type: typeOf(part) };
}

/** Any other part (`input_text`, a provider's own, a malformed one): named, not shown. */
export const unknown: PartType<"unsupported"> = {
  read: unknownSegment,
  asText: (segment) => `[Unsupported content: ${segment.type}]`,
  keepOnEdit: false,
};
