/** The `agent-memory` command as a person runs it. */
import { execFile } from "node:child_process"
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { optionsFirst } from "../src/cli/argv.ts"
import { documentId } from "../src/cli/ingestSources.ts"
import { spawnServer } from "./reliability/serverProcess.ts"

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
      expect(ingest.stdout).toContain("4 stored, 0 duplicates, 0 replaced, 1 failed (2 document chunks)")
      expect(ingest.stderr).toContain("docs/notes.ndjson item 1: InvalidInput: docs/notes.ndjson: item 1 is not JSON")
      expect(ingest.code).toBe(1)
      const search = yield* run(["search", "what causes tides", "--k", "2", "--namespace", "cli", "--json"], env, dir)
      expect(search.code).toBe(0)
      const answer = JSON.parse(search.stdout)
      expect(answer.hits[0].content).toContain("moon's gravity")
      expect(answer.hits[0].metadata.source).toBe("docs/tides.md")
      const stdin = yield* run(["ingest", "-", "--namespace", "cli"], env, dir, '{"content":"piped in"}\n')
      expect(stdin.stdout).toContain("1 stored")
      const context = yield* run(["context", "tides", "--namespace", "cli", "--max-tokens", "300"], env, dir)
      expect(context.stdout).toMatch(/moon/)
      expect(context.stderr).toMatch(/\(\d+ tokens, \d+ sources\)/)
      const migrate = yield* run(["migrate"], env, dir)
      expect(migrate.stdout).toContain("schema up to date (pglite)")
    }), 120_000)

  it.live("ingests a folder outside the working directory; ids never collide; replacements and failing files are outcomes", () =>
    Effect.gen(function*() {
      const elsewhere = mkdtempSync(join(tmpdir(), "agent-memory-cli-src-"))
      const cwd = mkdtempSync(join(tmpdir(), "agent-memory-cli-cwd-"))
      const docs = join(elsewhere, "notes")
      const long = "a".repeat(140)
      mkdirSync(join(docs, long), { recursive: true })
      // Two paths alike in their first 128 characters, and two names alike once odd characters are replaced.
      writeFileSync(join(docs, long, "first.md"), "The first long file talks about glaciers.\n")
      writeFileSync(join(docs, long, "second.md"), "The second long file talks about deserts.\n")
      writeFileSync(join(docs, "a b.md"), "Spaces in the name: owls hunt at night.\n")
      writeFileSync(join(docs, "a_b.md"), "Underscore in the name: bees make honey.\n")
      writeFileSync(join(docs, "empty.md"), "")
      const env = { MEMORY_DATA_DIR: join(cwd, "data") }
      const first = yield* run(["ingest", docs, join(elsewhere, "missing.md"), "--namespace", "far"], env, cwd)
      expect(first.stdout).toContain("ingested 6 sources")
      expect(first.stdout).toContain("4 stored, 0 duplicates, 0 replaced, 2 failed (4 document chunks)")
      expect(first.stderr).toContain("empty.md: InvalidInput:")
      expect(first.stderr).toContain("missing.md: InvalidInput: cannot read")
      expect(first.stderr).not.toMatch(/\n\s+at /)
      expect(first.code).toBe(1)
      // Ingested again: the same four documents, replaced (their chunks stored anew), not added.
      const again = yield* run(["ingest", docs, "--namespace", "far"], env, cwd)
      expect(again.stdout).toContain("4 stored, 0 duplicates, 4 replaced, 1 failed")
      const search = yield* run(["search", "glaciers", "--k", "1", "--namespace", "far", "--json"], env, cwd)
      expect(JSON.parse(search.stdout).hits[0].metadata.source).toBe(`notes/${long}/first.md`)
    }), 180_000)

  it.live("ingest --url sends the data through a running server (the way into a directory it holds)", () =>
    Effect.scoped(Effect.gen(function*() {
      const dir = mkdtempSync(join(tmpdir(), "agent-memory-cli-"))
      const server = yield* spawnServer({ MEMORY_DATA_DIR: join(dir, "data") })
      mkdirSync(join(dir, "docs"))
      writeFileSync(join(dir, "docs", "tides.md"), "# Tides\n\nTides are caused by the moon's gravity.\n")
      writeFileSync(join(dir, "docs", "notes.ndjson"), '{"content":"I like green tea"}\n{"content":"My cat is called Miso"}\n')
      const ingest = yield* run(["ingest", "./docs", "--url", server.url, "--namespace", "remote"], {}, dir)
      expect(ingest.stderr).toBe("")
      expect(ingest.stdout).toContain("3 stored, 0 duplicates, 0 replaced, 0 failed (1 document chunks)")
      expect(ingest.code).toBe(0)
      const found = yield* Effect.promise(() =>
        fetch(`${server.url}/v1/search`, {
          method: "POST",
          headers: { "content-type": "application/json" },
          body: JSON.stringify({ query: "cat name", k: 1, namespace: "remote" })
        }).then((r) => r.json() as Promise<{ hits: Array<{ content: string }> }>)
      )
      expect(found.hits[0]?.content).toBe("My cat is called Miso")
      const again = yield* run(["ingest", "./docs", "--url", server.url, "--namespace", "remote"], {}, dir)
      expect(again.stdout).toContain("1 stored, 2 duplicates, 1 replaced, 0 failed")
    })), 240_000)

  it("document ids: the name when it is a valid id, else a readable prefix and a hash of the whole name", () => {
    expect(documentId("docs/tides.md")).toBe("docs/tides.md")
    const long = `docs/${"x".repeat(200)}`
    expect(documentId(`${long}/a.md`)).not.toBe(documentId(`${long}/b.md`))
    expect(documentId(`${long}/a.md`).length).toBeLessThanOrEqual(110)
    expect(documentId("a b.md")).not.toBe(documentId("a_b.md"))
    expect(documentId("a b.md")).toMatch(/^a_b\.md@[0-9a-f]{20}$/)
    expect(documentId("../x.md")).toMatch(/^x\.md@/)
  })

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
