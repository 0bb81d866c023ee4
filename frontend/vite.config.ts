import { defineConfig } from "vite";

// Built into the comparison service (META-INF/resources), which serves it at "/" beside /api/v1.
// `npm run dev` proxies the API and the watch socket to a running comparison service (ND_API, default the run
// command's).
export default defineConfig({
  base: "./",
  build: {
    outDir: process.env.ND_UI_OUT ?? "dist",
    emptyOutDir: true,
  },
  server: {
    proxy: {
      "/api": { target: process.env.ND_API ?? "http://127.0.0.1:8082", ws: true },
    },
  },
  test: {
    include: ["test/**/*.test.ts"],
  },
});
