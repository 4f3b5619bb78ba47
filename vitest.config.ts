import { defineConfig } from "vitest/config"

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    // PGlite instances are large; two workers fit the two cores.
    maxWorkers: 2,
    minWorkers: 1
  }
})
