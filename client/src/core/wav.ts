// 16-bit PCM WAV files and base64, pure (no DOM): the microphone's samples become a WAV the
// Chat Completions API takes, and a reply's streamed pcm16 audio a WAV an <audio> plays.

/** The sample rate of OpenAI's streamed `pcm16` audio (24 kHz, mono, little-endian). */
export const PCM16_RATE = 24_000;

/** A 44-byte RIFF header and the samples: mono 16-bit PCM at `sampleRate`. */
export function encodeWav(samples: Float32Array | Int16Array, sampleRate: number): Uint8Array {
  const out = new Uint8Array(44 + samples.length * 2);
  const view = new DataView(out.buffer);
  const ascii = (at: number, text: string) => {
    for (let i = 0; i < text.length; i++) out[at + i] = text.charCodeAt(i);
  };
  ascii(0, "RIFF");
  view.setUint32(4, 36 + samples.length * 2, true);
  ascii(8, "WAVE");
  ascii(12, "fmt ");
  view.setUint32(16, 16, true); // fmt chunk size
  view.setUint16(20, 1, true); // PCM
  view.setUint16(22, 1, true); // mono
  view.setUint32(24, sampleRate, true);
  view.setUint32(28, sampleRate * 2, true); // bytes per second
  view.setUint16(32, 2, true); // bytes per frame
  view.setUint16(34, 16, true); // bits per sample
  ascii(36, "data");
  view.setUint32(40, samples.length * 2, true);
  for (let i = 0; i < samples.length; i++) {
    const s = samples[i] as number;
    // Float samples are -1..1 (Web Audio); clipped, not wrapped, when they overshoot.
    const v = samples instanceof Int16Array ? s : Math.round(Math.max(-1, Math.min(1, s)) * 32767);
    view.setInt16(44 + i * 2, v, true);
  }
  return out;
}

/** Raw little-endian pcm16 bytes (a streamed reply's audio) as a WAV file. */
export function pcm16ToWav(bytes: Uint8Array, sampleRate = PCM16_RATE): Uint8Array {
  const frames = Math.floor(bytes.length / 2);
  const samples = new Int16Array(frames);
  const view = new DataView(bytes.buffer, bytes.byteOffset, frames * 2);
  for (let i = 0; i < frames; i++) samples[i] = view.getInt16(i * 2, true);
  return encodeWav(samples, sampleRate);
}

export interface WavInfo {
  sampleRate: number;
  channels: number;
  bitsPerSample: number;
  /** Seconds of sound. */
  duration: number;
}

/** The format of a WAV file, or null if `bytes` is not one (RIFF/WAVE with fmt and data). */
export function wavInfo(bytes: Uint8Array): WavInfo | null {
  const text = (at: number) => String.fromCharCode(...bytes.subarray(at, at + 4));
  if (bytes.length < 12 || text(0) !== "RIFF" || text(8) !== "WAVE") return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let fmt: Omit<WavInfo, "duration"> | null = null;
  for (let at = 12; at + 8 <= bytes.length;) {
    const size = view.getUint32(at + 4, true);
    if (text(at) === "fmt " && at + 24 <= bytes.length) {
      fmt = {
        channels: view.getUint16(at + 10, true),
        sampleRate: view.getUint32(at + 12, true),
        bitsPerSample: view.getUint16(at + 22, true),
      };
    } else if (text(at) === "data" && fmt) {
      const frame = (fmt.channels * fmt.bitsPerSample) / 8;
      const length = Math.min(size, bytes.length - at - 8);
      return { ...fmt, duration: frame && fmt.sampleRate ? length / frame / fmt.sampleRate : 0 };
    }
    at += 8 + size + (size % 2);
  }
  return null;
}

/** Base64 of `bytes`, in slices (a spread of a whole file would overflow the stack). */
export function toBase64(bytes: Uint8Array): string {
  let binary = "";
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

/** The bytes of base64 text (padding optional); null when it is not base64. */
export function fromBase64(text: string): Uint8Array | null {
  try {
    const binary = atob(text);
    const out = new Uint8Array(binary.length);
    for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
    return out;
  } catch {
    return null;
  }
}
