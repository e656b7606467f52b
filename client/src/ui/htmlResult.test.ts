import { afterEach, describe, expect, it } from "vitest";
import { imageHostSources, setImageHosts } from "../core/markdown/images";
import { frameDocument, remoteImages } from "./htmlResult";

const BASE = "http://127.0.0.1:5000/";

afterEach(() => setImageHosts([]));

function policy(srcdoc: string): string {
  const doc = new DOMParser().parseFromString(srcdoc, "text/html");
  const metas = doc.querySelectorAll('meta[http-equiv="Content-Security-Policy"]');
  return metas[0]?.getAttribute("content") ?? "";
}

describe("the frame of an HTML result", () => {
  const report = '<h1>Q3</h1><p style="color: red">Up 12%</p>';
  it("starts with a policy that loads nothing remote", () => {
    const srcdoc = frameDocument(report);
    expect(srcdoc.startsWith('<meta http-equiv="Content-Security-Policy"')).toBe(true);
    expect(srcdoc.endsWith(report)).toBe(true);
    const csp = policy(srcdoc);
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("img-src data: blob:");
    expect(csp).toContain("style-src 'unsafe-inline'");
    expect(csp).toContain("base-uri 'none'");
    expect(csp).not.toMatch(/https?:/);
  });
  it("keeps a doctype first, so the result stays in standards mode", () => {
    const html = `<!DOCTYPE html>\n<html><head><title>r</title></head><body>${report}</body></html>`;
    const srcdoc = frameDocument(html);
    expect(srcdoc.startsWith("<!DOCTYPE html><meta http-equiv")).toBe(true);
    const doc = new DOMParser().parseFromString(srcdoc, "text/html");
    expect(doc.compatMode).toBe("CSS1Compat");
    expect(doc.head.firstElementChild?.getAttribute("http-equiv")).toBe("Content-Security-Policy");
  });
  it("allows the image sources it is given, and nothing that could add a directive", () => {
    setImageHosts(["img.example.com", "evil.com; script-src *", "*"]);
    const csp = policy(
      frameDocument(report, [
        ...imageHostSources(),
        "http://127.0.0.1:8080",
        "https://x.org; default-src *",
        "*",
      ]),
    );
    expect(csp).toContain(
      "img-src data: blob: http://img.example.com:* https://img.example.com:* http://127.0.0.1:8080",
    );
    expect(csp).not.toContain("x.org");
    expect(csp).not.toContain("evil");
    expect(csp.split(";").filter((d) => d.trim().startsWith("default-src"))).toHaveLength(1);
  });
});

describe("the remote images of an HTML result", () => {
  const png = "data:image/png;base64,iVBORw0KGgo=";
  it("finds them in attributes and in CSS, but not fonts, imports or data: URLs", () => {
    const html = `<style>
      @import url("https://cdn.example.com/site.css");
      @font-face { font-family: B; src: url(https://fonts.example.com/b.woff2); }
      /* .x { background: url(https://comment.example.com/no.png) } */
      .hero { background: url('https://img.example.com/hero.png') }
      .set { background-image: image-set("https://img.example.com/a.png" 1x) }
    </style>
    <body background="/bg.png">
    <img src="https://img.example.com/chart.png" alt="">
    <img src="${png}" srcset="https://srcset.example.com/a.png 1x, https://srcset.example.com/b.png 2x">
    <picture><source srcset="https://img.example.com/chart.png"></picture>
    <video poster="https://video.example.com/poster.jpg"></video>
    <input type="image" src="https://img.example.com/go.png">
    <svg><image href="https://svg.example.com/i.png"/></svg>
    <p style="background:url(https://img.example.com/inline.png)">x</p>
    <img src="">`;
    const found = remoteImages(html, BASE);
    expect(found.hosts.sort()).toEqual([
      "127.0.0.1:5000",
      "img.example.com",
      "srcset.example.com",
      "svg.example.com",
      "video.example.com",
    ]);
    expect(found.origins).toContain("http://127.0.0.1:5000");
    // chart.png twice is one image; the data: one and the empty src are none.
    expect(found.count).toBe(10);
  });
  it("leaves out the hosts whose images load at once", () => {
    setImageHosts(["img.example.com"]);
    const found = remoteImages(
      '<img src="https://img.example.com/a.png"><img src="https://other.example.com/b.png">',
      BASE,
    );
    expect(found).toEqual({
      count: 1,
      origins: ["https://other.example.com"],
      hosts: ["other.example.com"],
    });
  });
  it("finds none in a result without remote images", () => {
    expect(remoteImages(`<h1>Q3</h1><img src="${png}">`, BASE)).toEqual({
      count: 0,
      origins: [],
      hosts: [],
    });
  });
});
