import type { FilePart } from "../../protocol.gen";
import { base64Bytes, dataUrlData, dataUrlType } from "./media";
import type { PartType, Segment } from "./types";

/** The part for a file the user attaches: its name and a base64 `data:` URL of it. */
export function filePart(filename: string, dataUrl: string): FilePart {
  return { type: "file", file: { filename, file_data: dataUrl } };
}

export type FileSegment = Extract<Segment, { kind: "file" }>;

/**
 * `{"type": "file", "file": {"filename", "file_data"}}` (a PDF or text file, as data), or
 * `{"file": {"file_id"}}` (a file uploaded to the provider): shown as a chip.
 */
export const file: PartType<"file"> = {
  read(part) {
    const value = part["file"];
    if (typeof value !== "object" || value === null) return null;
    const { filename, file_data: data, file_id: id } = value as Record<string, unknown>;
    const url = typeof data === "string" ? data : null;
    const fileId = typeof id === "string" ? id : null;
    if (url === null && fileId === null) return null;
    return {
      kind: "file",
      name: typeof filename === "string" && filename ? filename : (fileId ?? "file"),
      mediaType: url === null ? null : dataUrlType(url),
      bytes: url === null ? null : base64Bytes(dataUrlData(url)),
      url,
    };
  },
  asText: (segment) => `[File: ${segment.name}]`,
  keepOnEdit: true,
};
