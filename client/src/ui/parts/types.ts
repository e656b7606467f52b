// What each content part type is to the browser. One file per type in this folder says
// how to read the part, how it reads as text, whether an edit keeps it and which
// component shows it (index.ts and views.ts list them); anything else is `unknown`.

/** What a content part shows as; runs of text parts join into one markdown segment. */
export type Segment =
  | { kind: "markdown"; text: string }
  | { kind: "image"; url: string }
  | { kind: "refusal"; text: string }
  // A file: its name, and when it is sent as data its media type, size and data: URL.
  | {
      kind: "file";
      name: string;
      mediaType: string | null;
      bytes: number | null;
      url: string | null;
    }
  | { kind: "audio"; data: string; format: string }
  | { kind: "unsupported"; type: string };

/** A content part as it may arrive: any JSON object (or worse), fields unchecked. */
export interface RawPart {
  type?: unknown;
  [key: string]: unknown;
}

/** How one content part type is read and treated, without the DOM. */
export interface PartType<K extends Segment["kind"]> {
  /** The segment the part shows as, or null when it is malformed (then it shows as unknown). */
  read(part: RawPart): Extract<Segment, { kind: K }> | null;
  /** How it reads in a tool result's text, where every part is named. */
  asText(segment: Extract<Segment, { kind: K }>): string;
  /** Whether editing a user message's text keeps this part (the new text replaces text). */
  keepOnEdit: boolean;
}

/** What a part's preview in the composer is given. */
export interface PreviewProps<S extends Segment = Segment> {
  segment: S;
  /** Its accessible name ("Attachment 2"). */
  label: string;
  /** The name of the file it was read from ("notes.txt", "Recording"), if it has one. */
  name?: string | undefined;
}

/** What every part's component is given. */
export interface PartProps<S extends Segment = Segment> {
  segment: S;
  /** The reply is still streaming (markdown keeps its open block open). */
  streaming: boolean;
  /** The last segment of the message: only its text may end in a table being written. */
  last: boolean;
  /** The text to render of a streaming or cut-off reply (`withoutUnfinishedTable`). */
  shown: (text: string) => string;
  /** In the user's own bubble, not in a reply. */
  mine: boolean;
}
