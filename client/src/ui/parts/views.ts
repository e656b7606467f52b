// The component that shows each kind of segment: a kind without one is a type error.
import type { Component } from "svelte";
import AudioPart from "./AudioPart.svelte";
import AudioPreview from "./AudioPreview.svelte";
import FilePart from "./FilePart.svelte";
import FilePreview from "./FilePreview.svelte";
import ImagePart from "./ImagePart.svelte";
import ImagePreview from "./ImagePreview.svelte";
import RefusalPart from "./RefusalPart.svelte";
import TextPart from "./TextPart.svelte";
import UnknownPart from "./UnknownPart.svelte";
import type { PartProps, PreviewProps, Segment } from "./types";

const VIEWS: { [K in Segment["kind"]]: Component<PartProps<Extract<Segment, { kind: K }>>> } = {
  markdown: TextPart,
  image: ImagePart,
  refusal: RefusalPart,
  file: FilePart,
  audio: AudioPart,
  unsupported: UnknownPart,
};

// The parts a user can attach, as the composer shows them before sending.
const PREVIEWS: {
  [K in Segment["kind"]]?: Component<PreviewProps<Extract<Segment, { kind: K }>>>;
} = { image: ImagePreview, file: FilePreview, audio: AudioPreview };

/** The composer's preview of an attached part; null for a kind that is never attached. */
export function previewOf(segment: Segment): Component<PreviewProps> | null {
  return (PREVIEWS[segment.kind] as Component<PreviewProps> | undefined) ?? null;
}

/** The component for `segment`, typed for any segment (each narrows its own). */
export function viewOf(segment: Segment): Component<PartProps> {
  return VIEWS[segment.kind] as Component<PartProps>;
}
