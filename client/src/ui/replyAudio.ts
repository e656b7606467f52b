// A reply's spoken audio (`message.audio` of an audio model: `{id, data, transcript,
// format?, expires_at?}`, its streamed base64 joined by core/merge.ts), pure: what it
// holds, and the bytes and type a player plays. Streamed audio is raw pcm16 (24 kHz mono,
// no header): it plays as a WAV made of it.
import { fromBase64, pcm16ToWav } from "../core/wav";

export interface ReplyAudio {
  id: string | null;
  /** Base64 of the audio ("" when it only has an id, as a conversation gives it back). */
  data: string;
  transcript: string;
  format: string | null;
}

/** The audio of a message's `audio` field, or null when it carries neither sound nor text. */
export function replyAudio(value: unknown): ReplyAudio | null {
  if (typeof value !== "object" || value === null) return null;
  const { id, data, transcript, format } = value as Record<string, unknown>;
  const audio: ReplyAudio = {
    id: typeof id === "string" ? id : null,
    data: typeof data === "string" ? data : "",
    transcript: typeof transcript === "string" ? transcript : "",
    format: typeof format === "string" ? format : null,
  };
  return audio.data || audio.transcript ? audio : null;
}

const FORMAT_TYPES: Record<string, string> = {
  wav: "audio/wav",
  mp3: "audio/mpeg",
  flac: "audio/flac",
  opus: "audio/ogg",
  aac: "audio/aac",
};

// A file's first bytes say what it is, whatever the format field says (or leaves out).
function sniff(bytes: Uint8Array): string | null {
  const text = String.fromCharCode(...bytes.subarray(0, 4));
  if (text === "RIFF") return "audio/wav";
  if (text === "fLaC") return "audio/flac";
  if (text === "OggS") return "audio/ogg";
  if (text.startsWith("ID3")) return "audio/mpeg";
  const [a = 0, b = 0] = bytes;
  if (a === 0xff && (b & 0xe0) === 0xe0) return (b & 0x06) === 0 ? "audio/aac" : "audio/mpeg";
  return null;
}

/** The bytes and media type a player is given; null when the data is not base64. */
export function playable(audio: ReplyAudio): { bytes: Uint8Array; type: string } | null {
  if (!audio.data) return null;
  const bytes = fromBase64(audio.data);
  if (!bytes || bytes.length === 0) return null;
  const type = sniff(bytes) ?? (audio.format ? FORMAT_TYPES[audio.format] : undefined);
  if (type) return { bytes, type };
  // pcm16 (what a streamed reply is) or no format at all: samples without a header.
  return { bytes: pcm16ToWav(bytes), type: "audio/wav" };
}
