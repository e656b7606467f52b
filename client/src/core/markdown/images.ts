// Which remote images may load without a click. A module of its own, tiny and free of
// the markdown libraries, so the app can set it at startup while the renderer (marked,
// DOMPurify, highlight.js) loads only when a reply needs it.

/** Hostnames whose images load without a click (`set_config({"image_hosts": [...]})`). */
const imageHosts = new Set<string>();

export function setImageHosts(hosts: readonly string[]): void {
  imageHosts.clear();
  for (const host of hosts) imageHosts.add(host.toLowerCase());
}

// An image inlined as base64 data reaches no host, so it leaks nothing and shows at once.
// Raster types and SVG only: an SVG in an <img> runs no script and loads nothing.
const INLINE_IMAGE = /^data:image\/(?:png|jpeg|gif|webp|avif|svg\+xml);base64,[a-z0-9+/]+=*$/i;

/** Whether `url` is an inline data: image, or an http(s) image on an allowed host. */
export function imageAllowed(url: string): boolean {
  if (INLINE_IMAGE.test(url)) return true;
  try {
    const parsed = new URL(url);
    return /^https?:$/.test(parsed.protocol) && imageHosts.has(parsed.hostname);
  } catch {
    return false;
  }
}

/** The host an image would be fetched from, as the click-to-load button names it. */
export function hostOf(url: string): string {
  try {
    return new URL(url).host || "inline data";
  } catch {
    return "unknown source";
  }
}

// A hostname that can stand in a CSP source list as it is (no spaces, quotes or `;`
// that would add a directive): letters, digits, dots and dashes.
const CSP_HOST = /^[a-z0-9.-]+$/;

/**
 * CSP sources for the allowed image hosts, any port on http and https: what `img-src`
 * of a sandboxed HTML tool result adds so that their images load there too.
 */
export function imageHostSources(): string[] {
  return [...imageHosts]
    .filter((host) => CSP_HOST.test(host))
    .flatMap((host) => [`http://${host}:*`, `https://${host}:*`]);
}
