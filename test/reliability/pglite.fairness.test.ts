/**
 * On PGlite (one session for everything), three large NDJSON batch streams
 * must not starve single writes: a single POST /v1/memories waits behind at
 * most one batch transaction, not behind every queued one. Prints the single
 * write's latency (p50/p95/max) during the streams. The bound is in batch
 * transactions, not seconds, so it holds on a loaded machine: p95 under the time
 * of ten 100-item batch transactions at the rate the streams ran. Before the fix
 * a single write waited behind every queued one: p95 ~30 of them. With the lane
 * it is 3–6 on two cores (the transaction's time is taken from the streams'
 * rate, which their overlapping embedding work makes look shorter than it is,
 * and the single write shares the server's event loop with three streams'
 * decoding): a bound of five failed 3 runs of 4 run alone, at 5.1–5.4.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import { send, spawnServer } from "./serverProcess.ts"

const STREAMS = 3
const ITEMS_PER_STREAM = 1500
/** MEMORY_BATCH_SIZE's default: the items one batch transaction writes. */
const BATCH_SIZE = 100

/** One single write, timed; a connection error is status 0 with its reason. */
const single = (url: string, content: string) =>
  Effect.promise(async () => {
    const started = performance.now()
    try {
      const response = await fetch(url, {
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify({ content }),
        signal: AbortSignal.timeout(60_000)
      })
      await response.arrayBuffer()
      return { status: response.status, ms: performance.now() - started, error: undefined }
    } catch (e) {
      const error = e as Error & { cause?: Error }
      return { status: 0, ms: performance.now() - started, error: `${error.message}: ${error.cause?.message ?? ""}` }
    }
  })

/** A batch stream may take longer than `send`'s 30 s on a loaded machine. */
const postStream = (url: string, body: string) =>
  Effect.promise(async () => {
    const response = await fetch(url, {
      method: "POST",
      headers: { "content-type": "application/x-ndjson" },
      body,
      signal: AbortSignal.timeout(120_000)
    })
    return { status: response.status, body: (await response.json()) as unknown }
  })

const percentile = (sorted: ReadonlyArray<number>, p: number) => sorted[Math.min(sorted.length - 1, Math.floor(sorted.length * p))]!

describe("PGlite batch fairness", () => {
  it.scopedLive("single POSTs during three large NDJSON batch streams", () =>
    Effect.gen(function*() {
      const root = mkdtempSync(join(tmpdir(), "agent-memory-pglite-fair-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(root, { recursive: true, force: true })))
      const server = yield* spawnServer({ MEMORY_STORE: "pglite", MEMORY_DATA_DIR: join(root, "data") })

      const idle: Array<number> = []
      for (let i = 0; i < 10; i++) {
        const answer = yield* send(`${server.url}/v1/memories`, { body: JSON.stringify({ content: `idle single ${i}` }) })
        expect(answer.status).toBe(201)
        idle.push(answer.ms)
      }

      let streaming = true
      const started = performance.now()
      const streams = yield* Effect.fork(Effect.forEach(Array.from({ length: STREAMS }, (_, s) => s), (s) => {
        const body = Array.from({ length: ITEMS_PER_STREAM }, (_, i) =>
          JSON.stringify({ content: `stream ${s} item ${i}: a memory of a few words about topic ${i % 97}` })).join("\n") + "\n"
        return postStream(`${server.url}/v1/memories/batch`, body)
      }, { concurrency: "unbounded" }).pipe(Effect.ensuring(Effect.sync(() => void (streaming = false)))))

      const during: Array<number> = []
      const statuses: Array<number> = []
      const errors = new Set<string>()
      yield* Effect.sleep("300 millis")
      for (let i = 0; streaming; i++) {
        const answer = yield* single(`${server.url}/v1/memories`, `single during the streams ${i}`)
        // A write starved past the client's timeout is status 0: counted at its wait.
        statuses.push(answer.status)
        if (answer.error) errors.add(answer.error)
        during.push(answer.ms)
      }
      const batches = yield* Fiber.join(streams)
      const seconds = (performance.now() - started) / 1000

      const sorted = [...during].sort((a, b) => a - b)
      const idleSorted = [...idle].sort((a, b) => a - b)
      console.log(
        `pglite fairness: single POST during ${STREAMS}×${ITEMS_PER_STREAM}-item NDJSON streams: ` +
          `p50 ${percentile(sorted, 0.5).toFixed(0)} ms, p95 ${percentile(sorted, 0.95).toFixed(0)} ms, max ${sorted.at(-1)!.toFixed(0)} ms ` +
          `(${sorted.length} writes, ${statuses.filter((s) => s !== 201).length} not answered 201 ${[...errors].join("; ")}; idle p50 ${percentile(idleSorted, 0.5).toFixed(0)} ms; batches ${((STREAMS * ITEMS_PER_STREAM) / seconds).toFixed(0)} items/s)`
      )
      for (const batch of batches) {
        expect(batch.status).toBe(200)
        expect(batch.body).toMatchObject({ stored: ITEMS_PER_STREAM, failedCount: 0 })
      }
      expect(statuses.filter((s) => s !== 201)).toEqual([])
      expect(sorted.length).toBeGreaterThanOrEqual(5)
      const transactionMs = (BATCH_SIZE / ((STREAMS * ITEMS_PER_STREAM) / seconds)) * 1000
      console.log(`pglite fairness: one batch transaction ~${transactionMs.toFixed(0)} ms; p95 bound ${(10 * transactionMs).toFixed(0)} ms`)
      expect(percentile(sorted, 0.95)).toBeLessThan(10 * transactionMs)
    }), 150_000)
})
