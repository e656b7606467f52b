// What attached files and audio are made of, pure (no DOM): data: URLs, base64 sizes, the
// media type of an audio format, and a Blob of base64 data for a player.
import { AUDIO_FORMATS } from "../../protocol.gen";
import { fromBase64, wavInfo } from "../../core/wav";

/** How many bytes base64 `data` decodes to, without decoding it (`base64_size` in Python). */
export function base64Bytes(data: string): number {
  const padding = data.endsWith("==") ? 2 : data.endsWith("=") ? 1 : 0;
  return Math.floor((data.length * 3) / 4) - padding;
}

/** A size as people read it: "820 B", "12 KB", "1.4 MB" (1 KB = 1024 bytes). */
export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${Math.round(bytes / 1024)} KB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MB`;
}

/** The media type of a `data:` URL (`data:text/csv;base64,...`: `text/csv`), or null. */
export function dataUrlType(url: string): string | null {
  if (url.slice(0, 5).toLowerCase() !== "data:") return null;
  return (url.slice(5).split(",", 1)[0] ?? "").split(";", 1)[0]?.trim().toLowerCase() ?? "";
}

/** The base64 data of a `data:` URL: what follows its comma. */
export function dataUrlData(url: string): string {
  const comma = url.indexOf(",");
  return comma < 0 ? "" : url.slice(comma + 1);
}

/** The media type of audio in `format` ("wav", "mp3", a reply's "pcm16", ...). */
export function audioType(format: string): string {
  const known = (AUDIO_FORMATS as Record<string, string>)[format];
  return known ?? `audio/${format || "wav"}`;
}

/** A Blob of `bytes` as `type`, for an object URL. */
export function bytesBlob(bytes: Uint8Array, type: string): Blob {
  return new Blob([bytes as BlobPart], { type });
}

/** A Blob of base64 `data` as `type`, for an object URL; null when it is not base64. */
export function base64Blob(data: string, type: string): Blob | null {
  const bytes = fromBase64(data);
  return bytes ? bytesBlob(bytes, type) : null;
}

/** A file chip's detail line: its kind and size ("PDF · 12 KB"). */
export function fileDetail(mediaType: string | null, bytes: number | null): string {
  const kind =
    mediaType === null
      ? ""
      : mediaType === "application/pdf"
        ? "PDF"
        : mediaType === "application/json"
          ? "JSON"
          : mediaType.startsWith("text/")
            ? "Text"
            : mediaType;
  return [kind, bytes === null ? "" : formatBytes(bytes)].filter(Boolean).join(" · ");
}

/** An audio chip's detail line: format, size and, for a WAV, its length ("WAV · 47 KB · 1.0 s"). */
export function audioDetail(data: string, format: string): string {
  const parts = [format.toUpperCase(), formatBytes(base64Bytes(data))];
  if (format === "wav") {
    // The header is in the first 64 bytes (88 base64 characters) of a plain WAV.
    const head = fromBase64(data.slice(0, 88));
    const info = head ? wavInfo(head) : null;
    if (info && info.bitsPerSample && info.channels) {
      const total = (base64Bytes(data) - 44) / ((info.channels * info.bitsPerSample) / 8);
      parts.push(`${(total / info.sampleRate).toFixed(1)} s`);
    }
  }
  return parts.join(" · ");
}
