import type { AudioPart } from "../../protocol.gen";
import type { PartType } from "./types";

/** The part for audio the user attaches or records: base64 WAV or MP3 (not a data: URL). */
export function audioPart(data: string, format: "wav" | "mp3"): AudioPart {
  return { type: "input_audio", input_audio: { data, format } };
}

/** `{"type": "input_audio", "input_audio": {"data", "format"}}`: a player in the bubble. */
export const audio: PartType<"audio"> = {
  read(part) {
    const value = part["input_audio"];
    if (typeof value !== "object" || value === null) return null;
    const { data, format } = value as Record<string, unknown>;
    if (typeof data !== "string" || !data) return null;
    return { kind: "audio", data, format: typeof format === "string" ? format : "wav" };
  },
  asText: () => "[Audio]",
  keepOnEdit: true,
};
