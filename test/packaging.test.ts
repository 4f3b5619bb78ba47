/**
 * The package as a user gets it: `npm pack` (which builds dist/ through `prepare`),
 * the tarball installed into an empty project with its peers (npm installs them),
 * README's library example (the block after `<!-- packaging-test: library example -->`)
 * compiled by a strict tsc with no special flags and run by plain `node`; the
 * package root loads no driver or SDK; an installed package's `bench` says it needs a clone.
 */
import { execFile } from "node:child_process"
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"

const root = fileURLToPath(new URL("..", import.meta.url))
const tsc = join(root, "node_modules", ".bin", "tsc")

const run = (command: string, args: ReadonlyArray<string>, cwd: string, env: Record<string, string> = {}) =>
  new Promise<{ code: number; stdout: string; stderr: string }>((resolve) => {
    execFile(command, [...args], { cwd, env: { ...process.env, ...env }, maxBuffer: 1 << 26, timeout: 600_000 }, (error, stdout, stderr) =>
      resolve({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr }))
  })

const readmeExample = () => {
  const readme = readFileSync(join(root, "README.md"), "utf8")
  const match = /<!-- packaging-test: library example -->\s*```ts\n([\s\S]*?)```/.exec(readme)
  if (!match) throw new Error("README has no block marked <!-- packaging-test: library example -->")
  return match[1]!
}

// Records every module URL the ESM loader resolves, so a test can see what an import loaded.
const HOOKS = `import { appendFileSync } from "node:fs"
export async function resolve(specifier, context, next) {
  const result = await next(specifier, context)
  appendFileSync(process.env.LOADED_LOG, result.url + "\\n")
  return result
}`

describe("the packed package", () => {
  it("installs with its peers, compiles README's example under strict tsc, runs it under node", async () => {
    const work = mkdtempSync(join(tmpdir(), "agent-memory-pack-"))
    const packed = await run("npm", ["pack", "--pack-destination", work, "--json", "--loglevel=error"], root)
    expect(packed.code, packed.stderr).toBe(0)
    const { filename, files } = JSON.parse(packed.stdout.slice(packed.stdout.indexOf("[")))[0] as {
      filename: string
      files: ReadonlyArray<{ path: string }>
    }
    const paths = files.map((f) => f.path)
    // Only the build, the bin, the manifest and README ship.
    expect(paths.filter((p) => !/^(dist\/|bin\/|package\.json$|README\.md$|LICENSE)/.test(p))).toEqual([])
    expect(paths).toContain("dist/src/index.d.ts")
    expect(paths).toContain("dist/layers/main.js")

    const app = join(work, "app")
    await run("mkdir", ["-p", app], work)
    writeFileSync(join(app, "package.json"), JSON.stringify({ name: "app", version: "1.0.0", private: true, type: "module" }))
    const installed = await run("npm", ["install", "--prefer-offline", "--no-audit", "--no-fund", "--loglevel=error", join(work, filename), "effect"], app)
    expect(installed.code, installed.stderr).toBe(0)

    writeFileSync(join(app, "example.ts"), readmeExample())
    writeFileSync(join(app, "tsconfig.json"), JSON.stringify({
      compilerOptions: { strict: true, module: "NodeNext", moduleResolution: "NodeNext", target: "ES2022", outDir: "out" },
      files: ["example.ts"]
    }))
    const compiled = await run(tsc, ["-p", "."], app)
    expect(compiled.stdout + compiled.stderr).toBe("")
    expect(compiled.code).toBe(0)

    const ran = await run(process.execPath, ["out/example.js"], app)
    expect(ran.code, ran.stderr).toBe(0)
    expect(ran.stdout).toContain("found: The wifi password is on the fridge")

    // The root loads no driver, SDK or tokenizer; the composition loads a provider only when chosen.
    writeFileSync(join(app, "hooks.mjs"), HOOKS)
    writeFileSync(join(app, "register.mjs"), `import { register } from "node:module"\nregister("./hooks.mjs", import.meta.url)\n`)
    const loaded = async (specifier: string) => {
      const log = join(work, `loaded-${specifier.replace(/\W/g, "_")}.log`)
      writeFileSync(log, "")
      const r = await run(process.execPath, ["--import", "./register.mjs", "--input-type=module", "-e", `await import(${JSON.stringify(specifier)})`], app, { LOADED_LOG: log })
      expect(r.code, r.stderr).toBe(0)
      return [...new Set(readFileSync(log, "utf8").split("\n").flatMap((url) => /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url)?.[1] ?? []))]
    }
    const heavy = /^(pg|@electric-sql\/pglite|ioredis|openai|js-tiktoken|@opentelemetry\/sdk-node)$/
    expect((await loaded("agent-memory")).filter((p) => heavy.test(p) || p.startsWith("@opentelemetry/"))).toEqual([])
    expect((await loaded("agent-memory/layers")).filter((p) => /^(pg|@electric-sql\/pglite|openai)$/.test(p))).toEqual([])
    for (const subpath of ["store/pglite", "store/pgvector", "store/memory", "embedder/local", "embedder/openai", "cache", "http", "otel"]) {
      expect(await loaded(`agent-memory/${subpath}`)).toContain("effect")
    }

    // The installed CLI runs the build; the benchmark is not part of the package.
    const bin = join(app, "node_modules", ".bin", "agent-memory")
    const search = await run(bin, ["search", "anything"], app, { MEMORY_STORE: "memory" })
    expect(search.code, search.stderr).toBe(0)
    expect(search.stdout.trim()).toBe("no matches")
    const bench = await run(bin, ["bench", "--quick"], app)
    expect(bench.code).toBe(1)
    expect(bench.stderr).toMatch(/^agent-memory: BenchUnavailable: the benchmark runs from a clone/)
  }, 900_000)
})
