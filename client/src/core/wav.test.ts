import { describe, expect, it } from "vitest";
import { encodeWav, fromBase64, pcm16ToWav, toBase64, wavInfo } from "./wav";

describe("WAV encoding", () => {
  it("writes a 16-bit mono PCM RIFF header and clipped samples", () => {
    const wav = encodeWav(new Float32Array([0, 1, -1, 2, -0.5]), 16_000);
    const view = new DataView(wav.buffer);
    expect(String.fromCharCode(...wav.subarray(0, 4))).toBe("RIFF");
    expect(view.getUint32(4, true)).toBe(36 + 10);
    expect(String.fromCharCode(...wav.subarray(8, 16))).toBe("WAVEfmt ");
    expect(view.getUint16(20, true)).toBe(1);
    expect(view.getUint32(28, true)).toBe(32_000);
    expect(view.getUint32(40, true)).toBe(10);
    const samples = [0, 1, 2, 3, 4].map((i) => view.getInt16(44 + i * 2, true));
    expect(samples).toEqual([0, 32767, -32767, 32767, -16383]);
    expect(wavInfo(wav)).toEqual({
      sampleRate: 16_000,
      channels: 1,
      bitsPerSample: 16,
      duration: 5 / 16_000,
    });
  });

  it("wraps streamed pcm16 in a header at 24 kHz", () => {
    const pcm = new Uint8Array(48_000); // one second of silence
    const info = wavInfo(pcm16ToWav(pcm));
    expect(info?.sampleRate).toBe(24_000);
    expect(info?.duration).toBe(1);
  });

  it("is not fooled by what is not a WAV", () => {
    expect(wavInfo(new Uint8Array([73, 68, 51, 4]))).toBeNull();
    expect(wavInfo(new TextEncoder().encode("RIFF....AVI LIST"))).toBeNull();
  });

  it("round-trips base64, large files included", () => {
    const bytes = new Uint8Array(200_000).map((_, i) => i % 251);
    expect(fromBase64(toBase64(bytes))).toEqual(bytes);
    expect(fromBase64("QQ")).toEqual(new Uint8Array([65]));
    expect(fromBase64("not base64!")).toBeNull();
  });
});
