// Recording from the microphone into a WAV: Web Audio's samples, mono, at 24 kHz where the
// browser resamples (else its own rate), encoded by core/wav.ts. A ScriptProcessor rather
// than an AudioWorklet: a worklet is a script module, which the page's CSP (script-src
// 'self', no blob:) would need to be a file of its own for a few lines.
import { encodeWav } from "../core/wav";

/** The rate asked for: what OpenAI's audio models speak, and half the bytes of 48 kHz. */
const RATE = 24_000;

export interface Recorded {
  wav: Uint8Array;
  seconds: number;
}

export interface Recording {
  /** Seconds recorded so far. */
  seconds(): number;
  /** End the recording: its WAV. */
  stop(): Promise<Recorded>;
  /** End it and drop what was recorded. */
  cancel(): void;
}

/** Whether this browser can record at all (a secure context with a microphone API). */
export function canRecord(): boolean {
  return typeof navigator !== "undefined" && !!navigator.mediaDevices?.getUserMedia;
}

/**
 * Start recording; `onfull` is called once the WAV would pass `maxBytes` (the recording
 * stops growing there). Rejects when the microphone is refused or missing.
 */
export async function startRecording(maxBytes: number, onfull: () => void): Promise<Recording> {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  let context: AudioContext;
  let source: MediaStreamAudioSourceNode;
  try {
    context = new AudioContext({ sampleRate: RATE });
    source = context.createMediaStreamSource(stream);
  } catch {
    // A browser that cannot resample a live stream: record at its own rate.
    context = new AudioContext();
    source = context.createMediaStreamSource(stream);
  }
  const maxSamples = Math.floor((maxBytes - 44) / 2);
  const chunks: Float32Array[] = [];
  let samples = 0;
  let full = false;
  const processor = context.createScriptProcessor(4096, 1, 1);
  processor.onaudioprocess = (event) => {
    if (full) return;
    const input = event.inputBuffer.getChannelData(0);
    const room = maxSamples - samples;
    const take = input.length <= room ? input : input.subarray(0, Math.max(room, 0));
    chunks.push(new Float32Array(take));
    samples += take.length;
    if (samples >= maxSamples) {
      full = true;
      onfull();
    }
  };
  // Its output is silence, but a processor only runs while connected to the destination.
  source.connect(processor);
  processor.connect(context.destination);
  if (context.state === "suspended") await context.resume();

  const release = () => {
    processor.onaudioprocess = null;
    source.disconnect();
    processor.disconnect();
    for (const track of stream.getTracks()) track.stop();
    void context.close();
  };
  return {
    seconds: () => samples / context.sampleRate,
    stop() {
      const rate = context.sampleRate;
      release();
      const all = new Float32Array(samples);
      let at = 0;
      for (const chunk of chunks) {
        all.set(chunk, at);
        at += chunk.length;
      }
      return Promise.resolve({ wav: encodeWav(all, rate), seconds: samples / rate });
    },
    cancel: release,
  };
}
