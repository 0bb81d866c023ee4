import { defineConfig } from "vite";

// Built into the comparison service (META-INF/resources), which serves it at "/" beside /api/v1.
export default defineConfig({
  base: "./",
  build: {
    outDir: process.env.ND_UI_OUT ?? "dist",
    emptyOutDir: true,
  },
  test: {
    include: ["test/**/*.test.ts"],
  },
});
