import { defineConfig } from "vite";
import react from "@vitejs/plugin-react";

// The agent console: built into dist/console, served by Baton at "/" (the API stays at /graphql).
export default defineConfig({
  root: import.meta.dirname,
  plugins: [react()],
  build: { outDir: "../dist/console", emptyOutDir: true, sourcemap: "hidden" },
  logLevel: "warn",
});
