/// <reference types="vitest/config" />
import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// The Flask server a contributor runs beside `npm run dev` (python -m gptchat --port 5000).
const backend = process.env.GPTCHAT_BACKEND ?? "http://127.0.0.1:5000";

export default defineConfig({
  plugins: [svelte()],
  base: "./",
  build: {
    outDir: "../package/build",
    emptyOutDir: true,
    target: "es2022",
    chunkSizeWarningLimit: 600,
  },
  server: {
    host: "127.0.0.1",
    // The server accepts same-origin sockets only, so the proxy presents itself as the
    // backend's own origin: dev and production then run the same security checks.
    proxy: {
      "/socket.io": {
        target: backend,
        ws: true,
        changeOrigin: true,
        configure: (proxy) => {
          proxy.on("proxyReq", (req) => req.setHeader("origin", backend));
          proxy.on("proxyReqWs", (req) => req.setHeader("origin", backend));
        },
      },
      "/_gptchat": { target: backend, changeOrigin: true },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
    // The char-by-char streaming tests are CPU-bound; leave room on a busy 2-core machine.
    testTimeout: 30_000,
  },
});
