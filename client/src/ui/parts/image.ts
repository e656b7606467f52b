import type { ImagePart } from "../../protocol.gen";
import type { PartType } from "./types";

/** The part for an image the user attaches (a data: URL of the file). */
export function imagePart(url: string): ImagePart {
  return { type: "image_url", image_url: { url } };
}

/** `{"type": "image_url", "image_url": {"url": ...}}`: an image, under the image rules. */
export const image: PartType<"image"> = {
  read(part) {
    const value = part["image_url"];
    // The API takes {url}; some libraries pass the URL alone.
    if (typeof value === "string") return { kind: "image", url: value };
    if (typeof value === "object" && value !== null) {
      const url = (value as { url?: unknown }).url;
      if (typeof url === "string") return { kind: "image", url };
    }
    return null;
  },
  asText: () => "[Image]",
  keepOnEdit: true,
};
