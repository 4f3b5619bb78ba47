/** The `agent-memory` command as a person runs it. */
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { optionsFirst } from "../src/cli/argv.ts"

const bin = new URL("../bin/agent-memory.mjs", import.meta.url).pathname

const run = (args: ReadonlyArray<string>, env: Record<string, string>, cwd: string, input?: string) =>
  Effect.async<{ readonly code: number; readonly stdout: string; readonly stderr: string }>((resume) => {
    const child = execFile(bin, [...args], { cwd, env: { ...process.env, ...env } }, (error, stdout, stderr) =>
      resume(Effect.succeed({ code: error ? (typeof error.code === "number" ? error.code : 1) : 0, stdout, stderr })))
    if (input !== undefined) child.stdin!.end(input)
  })

describe("agent-memory CLI", () => {
  it.live("ingests a folder (documents and NDJSON), then searches and builds context from it", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "agent-memory-cli-"))
      mkdirSync(join(dir, "docs", "deep"), { recursive: true })
      writeFileSync(join(dir, "docs", "tides.md"), "# Tides\n\nTides are caused by the moon's gravity.\n\nSpring tides come at new and full moon.\n")
      writeFileSync(join(dir, "docs", "deep", "volcanoes.txt"), "Volcanoes form where tectonic plates meet.\n")
      writeFileSync(join(dir, "docs", "notes.ndjson"), '{"content":"I like green tea"}\n{"broken\n{"content":"My cat is called Miso"}\n')
      writeFileSync(join(dir, "docs", "image.png"), "not text")
      const env = { MEMORY_DATA_DIR: join(dir, "data") }
      const ingest = yield* run(["ingest", "./docs", "--namespace", "cli"], env, dir)
      expect(ingest.stdout).toContain("ingested 3 sources")
      expect(ingest.stdout).toContain("4 stored, 0 duplicates, 1 failed (2 document chunks)")
      expect(ingest.stderr).toContain("docs/notes.ndjson item 1: InvalidInput: docs/notes.ndjson: item 1 is not JSON")
      expect(ingest.code).toBe(1)
      const search = yield* run(["search", "what causes tides", "--k", "2", "--namespace", "cli", "--json"], env, dir)
      expect(search.code).toBe(0)
      const answer = JSON.parse(search.stdout)
      expect(answer.hits[0].content).toContain("moon's gravity")
      expect(answer.hits[0].metadata.source).toBe("docs/tides.md")
      const stdin = yield* run(["ingest", "-", "--namespace", "cli"], env, dir, '{"content":"piped in"}\n')
      expect(stdin.stdout).toContain("1 stored")
      const context = yield* run(["context", "tides", "--namespace", "cli", "--max-tokens", "80"], env, dir)
      expect(context.stdout).toContain("[1] # Tides")
      expect(context.stderr).toMatch(/\(\d+ tokens, 1 sources\)/)
      const migrate = yield* run(["migrate"], env, dir)
      expect(migrate.stdout).toContain("schema up to date (pglite)")
    }), 120_000)

  it.live("bad usage and bad configuration fail with a clear line", () =>
    Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "agent-memory-cli-"))
      const missing = yield* run(["search"], { MEMORY_DATA_DIR: "memory://" }, dir)
      expect(missing.code).toBe(2)
      expect(missing.stdout + missing.stderr).toContain("Missing argument <query>")
      const bad = yield* run(["search", "x"], { MEMORY_STORE: "nope" }, dir)
      expect(bad.code).toBe(1)
      expect(bad.stderr.trim()).toBe(`agent-memory: configuration: MEMORY_STORE: unknown store "nope" (known: memory, pglite, pgvector)`)
    }), 60_000)

  it("puts options before positional arguments, as @effect/cli wants them", () => {
    expect(optionsFirst(["node", "cli", "search", "a query", "--k", "5", "--json", "--mode=hybrid"])).toEqual(
      ["node", "cli", "search", "-k", "5", "--json", "--mode=hybrid", "a query"]
    )
    expect(optionsFirst(["node", "cli", "ingest", "-", "./docs", "--namespace", "n"])).toEqual(
      ["node", "cli", "ingest", "--namespace", "n", "-", "./docs"]
    )
  })
})
