// The benchmark's two limit pages (bench/*.html), built apart from the app into the
// repository's bench/.build/ (gitignored); bench/render.py builds and serves them.
import { resolve } from "node:path";
import { defineConfig } from "vite";

const root = resolve(import.meta.dirname, "bench");

export default defineConfig({
  root,
  base: "./",
  logLevel: "warn",
  build: {
    outDir: resolve(import.meta.dirname, "../bench/.build"),
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 2000,
    rollupOptions: {
      input: { once: resolve(root, "once.html"), append: resolve(root, "append.html") },
    },
  },
});
