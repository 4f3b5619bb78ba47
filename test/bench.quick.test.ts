/**
 * The benchmark's quick mode, tiny: every scenario runs against the PostgreSQL
 * named by DATABASE_URL and answers figures that are sane numbers. Timings are
 * not judged here (the machine running the tests is not a benchmark machine);
 * what the product promises regardless of speed is: filtered searches return k
 * results when k exist, re-ingested texts are not embedded again.
 */
import { Effect } from "effect"
import { describe, expect, it } from "vitest"
import { parse } from "../bench/options.ts"
import { runBench } from "../bench/run.ts"
import type { Summary } from "../bench/stats.ts"

const url = process.env["DATABASE_URL"]

const sane = (x: number) => Number.isFinite(x) && x > 0
const saneSummary = (s: Summary) => {
  expect(s.count).toBeGreaterThan(0)
  expect(sane(s.meanMs)).toBe(true)
  expect(s.p50Ms).toBeLessThanOrEqual(s.p95Ms)
  expect(s.p95Ms).toBeLessThanOrEqual(s.p99Ms)
}
const fraction = (x: number) => {
  expect(x).toBeGreaterThanOrEqual(0)
  expect(x).toBeLessThanOrEqual(1)
}

describe.skipIf(url === undefined)("bench --quick (pgvector)", () => {
  it("runs every scenario and reports sane figures", async () => {
    const options = parse([
      "--quick", "--rows", "1500", "--clusters", "10", "--queries", "40", "--ef", "20,40", "--duration", "1",
      "--http-duration", "1", "--pglite-rows", "300", "--keyword-rows", "300", "--keyword-queries", "10"
    ])
    const lines: Array<string> = []
    const results = await Effect.runPromise(runBench(options, {
      url,
      prefix: `benchtest_${process.pid}_`,
      log: (line) => void lines.push(line),
      write: false,
      command: "test"
    }))
    expect(results.errors, lines.join("\n")).toEqual([])

    const ingest = results.ingest!
    expect(ingest.figures.map((f) => `${f.phase} ${f.system}`)).toEqual(expect.arrayContaining([
      "no-index agent-memory", "no-index agent-memory-http", "no-index langchain", "no-index copy", "live-index agent-memory", "live-index copy"
    ]))
    for (const f of ingest.figures) {
      expect(f.rows).toBe(1500)
      expect(sane(f.rowsPerSecond)).toBe(true)
    }
    for (const b of ingest.indexBuilds) expect(sane(b.seconds)).toBe(true)
    expect(sane(ingest.vsLangchain!)).toBe(true)
    expect(sane(ingest.overHttp!.vsInProcess!)).toBe(true)
    expect(sane(ingest.overHttp!.vsCopy!)).toBe(true)

    const search = results.search!
    expect(search.figures).toHaveLength(2 * 2 * 3) // ef × clients × systems (agent-memory, raw SQL, LangChain)
    expect(search.vsLangchain).toHaveLength(2 * 2)
    for (const o of search.vsLangchain!) expect(sane(o.ratio)).toBe(true)
    for (const f of search.figures) {
      fraction(f.recall)
      expect(f.recall).toBeGreaterThan(0.5)
      expect(sane(f.queriesPerSecond)).toBe(true)
      saneSummary(f.latency)
    }

    for (const f of results.filtered!.filter((f) => f.system === "agent-memory")) {
      fraction(f.recall)
      // The benchmark's vectors are Gaussian: many matches have a negative cosine, and the
      // vector floor keeps those out, so not every filtered query fills k.
      fraction(f.fullAnswers)
      expect(f.fullAnswers).toBeGreaterThan(0)
      saneSummary(f.latency)
      expect(f.plan.length).toBeGreaterThan(0)
    }

    const cache = results.cache!
    saneSummary(cache.miss)
    saneSummary(cache.hit)
    saneSummary(cache.missLocalEmbedder)
    expect(sane(cache.ratio)).toBe(true)
    expect(cache.skewed.embeddingRequests).toBeLessThanOrEqual(cache.skewed.distinct)
    expect(cache.reingest.embedded).toBe(0)

    for (const h of results.http!) {
      expect(h.ok).toBeGreaterThan(0)
      expect(h.failed).toBe(0)
      expect(sane(h.requestsPerSecond)).toBe(true)
    }

    const pglite = results.pglite!
    expect(sane(pglite.ingestRowsPerSecond)).toBe(true)
    fraction(pglite.recall)
    saneSummary(pglite.latency)

    // With REDIS_URL: one process and MEMORY_WORKERS=2, both over the Redis L2.
    if (options.redisUrl !== undefined) {
      expect(results.http!.map((h) => h.run)).toEqual(expect.arrayContaining(["cache-hit-redis", "cache-hit-2-workers"]))
    }

    const keyword = results.keyword!
    expect(keyword.figures.map((f) => `${f.store} ${f.mode}`)).toEqual([
      "pgvector vector", "pgvector keyword", "pgvector hybrid", "pglite vector", "pglite keyword", "pglite hybrid"
    ])
    for (const f of keyword.figures) {
      expect(f.rows).toBe(300)
      saneSummary(f.latency)
      expect(sane(f.vsVector)).toBe(true)
      if (f.store === "pgvector") expect(sane(f.queriesPerSecondConcurrent!)).toBe(true)
    }
    for (const i of keyword.ingests) expect(sane(i.rowsPerSecond)).toBe(true)
    expect(results.goals.map((g) => g.goal)).toContain("keyword and hybrid search p50 vs vector search, 300 records of text (pgvector and pglite)")

    expect(results.goals.length).toBeGreaterThanOrEqual(8)
  }, 600_000)
})
