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
    proxy: {
      "/socket.io": { target: backend, ws: true },
      "/assets-config": { target: backend },
    },
  },
  test: {
    environment: "jsdom",
    include: ["src/**/*.test.ts"],
  },
});
