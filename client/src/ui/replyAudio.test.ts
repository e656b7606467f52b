import { describe, expect, it } from "vitest";
import { encodeWav, toBase64, wavInfo } from "../core/wav";
import { playable, replyAudio } from "./replyAudio";

describe("a reply's audio", () => {
  it("is read from message.audio, or is nothing without sound and text", () => {
    expect(replyAudio({ id: "audio_1", data: "AAAA", transcript: "Hi" })).toEqual({
      id: "audio_1",
      data: "AAAA",
      transcript: "Hi",
      format: null,
    });
    expect(replyAudio({ id: "audio_1" })).toBeNull();
    expect(replyAudio("audio")).toBeNull();
  });

  it("plays a WAV or MP3 as it is, whatever its format says", () => {
    const wav = encodeWav(new Int16Array(10), 16_000);
    expect(playable({ id: null, data: toBase64(wav), transcript: "", format: null })).toEqual({
      bytes: wav,
      type: "audio/wav",
    });
    const mp3 = new Uint8Array([0x49, 0x44, 0x33, 4, 0]);
    expect(playable({ id: null, data: toBase64(mp3), transcript: "", format: "wav" })?.type).toBe(
      "audio/mpeg",
    );
  });

  it("plays streamed pcm16 (no header) as a 24 kHz WAV made of it", () => {
    const pcm = new Uint8Array(48_000); // one second of 24 kHz 16-bit mono
    const sound = playable({ id: null, data: toBase64(pcm), transcript: "", format: "pcm16" });
    expect(sound?.type).toBe("audio/wav");
    expect(wavInfo(sound?.bytes ?? new Uint8Array())).toEqual({
      sampleRate: 24_000,
      channels: 1,
      bitsPerSample: 16,
      duration: 1,
    });
    expect(playable({ id: null, data: "", transcript: "Hi", format: null })).toBeNull();
  });
});
