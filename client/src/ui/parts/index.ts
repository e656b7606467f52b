// The content part types the browser knows, by their `type`; any other is `unknown`.
// A new part type: a file beside these (its `PartType`), an entry here, a `Segment`
// member in types.ts, and its component in views.ts (a missing one is a type error).
import { audio } from "./audio";
import { file } from "./file";
import { image } from "./image";
import { refusal } from "./refusal";
import { text } from "./text";
import { typeOf, unknown, unknownSegment } from "./unknown";
import type { PartType, RawPart, Segment } from "./types";

export type { PartProps, RawPart, Segment } from "./types";

/** A part type as the lookup sees it, whatever segment it reads as. */
interface AnyPartType {
  read(part: RawPart): Segment | null;
  keepOnEdit: boolean;
}

// Each reads its own `type`; a part is looked up by what it says it is.
const PART_TYPES: Record<string, AnyPartType | undefined> = {
  text,
  image_url: image,
  refusal,
  file,
  input_audio: audio,
};

/** The part type of `part`, by its `type`; `unknown` for one not listed. */
export function partType(part: unknown): AnyPartType {
  const type = typeOf(part);
  return (Object.hasOwn(PART_TYPES, type) ? PART_TYPES[type] : undefined) ?? unknown;
}

/** What `part` shows as: its type's reading, or a labelled placeholder when it is malformed. */
export function segmentOf(part: unknown): Segment {
  const type = partType(part);
  const raw = (typeof part === "object" && part !== null ? part : {}) as RawPart;
  return (type === unknown ? null : type.read(raw)) ?? unknownSegment(part);
}

const BY_KIND: { [K in Segment["kind"]]: PartType<K> } = {
  markdown: text,
  image,
  refusal,
  file,
  audio,
  unsupported: unknown,
};

/** A segment as a tool result's text. */
export function segmentText(segment: Segment): string {
  return (BY_KIND[segment.kind].asText as (segment: Segment) => string)(segment);
}

/** Whether editing a user message's text keeps `part`. */
export function keptOnEdit(part: unknown): boolean {
  return partType(part).keepOnEdit;
}
