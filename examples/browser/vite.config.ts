import { defineConfig } from "vite"

export default defineConfig({
  // Workers are ES modules (`new Worker(url, { type: "module" })`), bundled with their imports.
  worker: { format: "es" },
  build: { target: "es2022" }
})
