/**
 * The map of imports: the core (src/) imports nothing from its providers
 * (layers/), its telemetry (otel/) or the benchmark (bench/); the process
 * entries in layers/ compose them. Static and dynamic imports and re-exports count.
 */
import { readdirSync, readFileSync } from "node:fs"
import { dirname, join, relative, resolve } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"

const root = fileURLToPath(new URL("..", import.meta.url))
const FORBIDDEN = ["layers", "otel", "bench"]
/** Files allowed an arrow out of src/ for now, each with its reason. Keep it empty. */
const KNOWN_EXCEPTIONS: ReadonlyArray<string> = []

const sourceFiles = (dir: string): Array<string> =>
  readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
    entry.isDirectory() ? sourceFiles(join(dir, entry.name)) : /\.(ts|mts|js|mjs)$/.test(entry.name) ? [join(dir, entry.name)] : []
  )

// `import … from "x"`, `export … from "x"`, `import "x"`, `import("x")`.
const SPECIFIER = /(?:\bfrom\s*|\bimport\s*\(?\s*)["']([^"']+)["']/g

const arrows = (file: string) =>
  [...readFileSync(file, "utf8").replace(/\/\*[\s\S]*?\*\/|^\s*\/\/.*$/gm, "").matchAll(SPECIFIER)]
    .map((m) => m[1]!)
    .filter((s) => s.startsWith("."))
    .map((s) => relative(root, resolve(dirname(file), s)).split("/")[0]!)

describe("import map", () => {
  it("has no arrow from src/ to layers/, otel/ or bench/", () => {
    const files = sourceFiles(join(root, "src"))
    expect(files.length).toBeGreaterThan(20)
    const offending = files
      .map((file) => ({ file: relative(root, file), targets: arrows(file).filter((top) => FORBIDDEN.includes(top)) }))
      .filter(({ file, targets }) => targets.length > 0 && !KNOWN_EXCEPTIONS.includes(file))
    expect(offending).toEqual([])
  })

  it("sees an arrow when there is one (the check itself works)", () => {
    const entry = join(root, "layers", "cli.ts")
    expect(arrows(entry)).toContain("src")
  })
})
