// HTML tool results render in a sandboxed frame (no scripts, an opaque origin). A frame
// of `srcdoc` inherits this page's CSP, whose img-src allows http(s) (for logos and the
// images a reader clicks to load), so the frame gets a policy of its own, first in its
// document: nothing remote loads, only inline styles and data:/blob: images, plus images
// from hosts the developer allowed or the reader chose to load. Policies only tighten:
// whatever CSP the result carries itself cannot loosen this one.
//
// The frame has no scripts, so a click inside it cannot reach this page: the note that
// offers to load the images sits outside it, and loading them rebuilds the frame with
// those origins allowed. The browser enforces the policy on every path (CSS, srcset,
// poster, fonts, imports); the scan below only finds what to tell the reader.
import { imageAllowed } from "../core/markdown/images";

const POLICY = [
  "default-src 'none'",
  "style-src 'unsafe-inline'",
  "font-src data:",
  "media-src data: blob:",
  "base-uri 'none'",
  "form-action 'none'",
];

// A CSP source we write into the policy: an origin as URL() gives it, or a host pattern
// with any port; nothing that could end the directive or add another one.
const SOURCE = /^https?:\/\/[a-z0-9.-]+(?::(?:\d+|\*))?$/i;

// A doctype must stay first, or the document renders in quirks mode.
const DOCTYPE = /^\uFEFF?\s*(?:<!--[\s\S]*?-->\s*)*<!doctype[^>]*>/i;

/** The `srcdoc` for an HTML result: its policy first, then the result unchanged. */
export function frameDocument(html: string, imageSources: readonly string[] = []): string {
  const sources = imageSources.filter((s) => SOURCE.test(s));
  const img = ["img-src data: blob:", ...sources].join(" ");
  const meta =
    `<meta http-equiv="Content-Security-Policy" content="${[...POLICY, img].join("; ")}">` +
    `<meta name="referrer" content="no-referrer">`;
  const doctype = DOCTYPE.exec(html)?.[0] ?? "";
  return doctype + meta + html.slice(doctype.length);
}

export interface RemoteImages {
  /** Distinct remote image URLs the result refers to. */
  count: number;
  /** Their origins (`http://host:port`). */
  origins: string[];
  /** Their hosts (`host:port`), to name them to the reader. */
  hosts: string[];
}

// CSS: comments, then the rules whose urls are not images (imports, fonts).
const CSS_COMMENT = /\/\*[\s\S]*?\*\//g;
const CSS_NOT_IMAGES = /@import[^;]*;?|@font-face\s*\{[^}]*\}/gi;
const CSS_URL = /url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"\s]*))\s*\)/gi;
const CSS_IMAGE_SET_STRING = /image-set\(([^)]*)\)/gi;
const CSS_STRING = /"([^"]*)"|'([^']*)'/g;

function cssImages(css: string): string[] {
  const text = css.replace(CSS_COMMENT, "").replace(CSS_NOT_IMAGES, "");
  const urls = [...text.matchAll(CSS_URL)].map((m) => m[1] ?? m[2] ?? m[3] ?? "");
  for (const set of text.matchAll(CSS_IMAGE_SET_STRING)) {
    for (const s of (set[1] ?? "").matchAll(CSS_STRING)) urls.push(s[1] ?? s[2] ?? "");
  }
  return urls;
}

function srcsetUrls(srcset: string): string[] {
  // Candidates are a URL, maybe a descriptor, and a comma; a URL holds no whitespace.
  return [...srcset.matchAll(/(\S+)(?:\s+[^,]*)?(?:,|$)/g)].map((m) =>
    (m[1] ?? "").replace(/,+$/, ""),
  );
}

/**
 * The remote images an HTML result refers to (in attributes and in CSS), apart from
 * those whose host may load at once. Parsed inert (DOMParser loads nothing).
 */
export function remoteImages(html: string, base: string): RemoteImages {
  const doc = new DOMParser().parseFromString(html, "text/html");
  const found: string[] = [];
  const attr = (selector: string, name: string) => {
    for (const el of doc.querySelectorAll(selector)) found.push(el.getAttribute(name) ?? "");
  };
  attr("img[src], input[src]", "src");
  attr("video[poster]", "poster");
  attr("[background]", "background");
  attr("image[href]", "href");
  for (const el of doc.querySelectorAll("image")) {
    const href = el.getAttributeNS("http://www.w3.org/1999/xlink", "href");
    if (href) found.push(href);
  }
  for (const el of doc.querySelectorAll("img[srcset], source[srcset]")) {
    found.push(...srcsetUrls(el.getAttribute("srcset") ?? ""));
  }
  for (const el of doc.querySelectorAll("[style]")) {
    found.push(...cssImages(el.getAttribute("style") ?? ""));
  }
  for (const el of doc.querySelectorAll("style")) found.push(...cssImages(el.textContent ?? ""));

  const urls = new Set<string>();
  const origins = new Set<string>();
  const hosts = new Set<string>();
  for (const raw of found) {
    if (!raw.trim()) continue; // no source: nothing loads
    let url: URL;
    try {
      url = new URL(raw.trim(), base);
    } catch {
      continue;
    }
    if (!/^https?:$/.test(url.protocol) || imageAllowed(url.href)) continue;
    urls.add(url.href);
    origins.add(url.origin);
    hosts.add(url.host);
  }
  return { count: urls.size, origins: [...origins], hosts: [...hosts] };
}
