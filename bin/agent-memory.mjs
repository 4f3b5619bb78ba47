#!/usr/bin/env node
// The `agent-memory` command. From the package: the build (dist/). From a clone of the
// repository with its dev dependencies: the TypeScript sources through tsx, so an edit
// takes effect without a build.
import { existsSync } from "node:fs"

const sources = new URL("../layers/cli.ts", import.meta.url)
const tsx = new URL("../node_modules/tsx/package.json", import.meta.url)

if (existsSync(sources) && existsSync(tsx)) {
  const { register } = await import("tsx/esm/api")
  register()
  await import(sources.href)
} else {
  await import("../dist/layers/cli.js")
}
