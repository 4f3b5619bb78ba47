/**
 * Ingest over HTTP: the rows the in-process batch path loads, sent as one
 * NDJSON stream to POST /v1/memories/batch on the real server process
 * (serverProcess.ts) over loopback. The server runs with the product's
 * default batch settings (MEMORY_BATCH_SIZE and MEMORY_BATCH_CONCURRENCY
 * unset), its caches off as in process, the same precomputed vectors
 * (BenchEmbedderPlugin.ts, every row's), into a fresh schema without a vector
 * index. The body is built before the clock starts; the clock runs from the
 * first byte sent to the answer, which comes when every row is stored.
 *
 * Each round starts a server of its own (a fresh schema is made at start-up),
 * and a just-started process runs its code cold where the in-process path has
 * run it before: so a first batch of 1,000 rows into another namespace warms
 * it, and is deleted (and the table vacuumed) before the clock starts.
 */
import { mkdtempSync, rmSync } from "node:fs"
import { request } from "node:http"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import { Effect, type Scope } from "effect"
import * as MemorySettings from "../src/memory/MemorySettings.ts"
import * as BenchEmbedderPlugin from "./BenchEmbedderPlugin.ts"
import type { BenchContext } from "./context.ts"
import * as Db from "./db.ts"
import { withServer } from "./serverProcess.ts"
import * as Stack from "./stack.ts"

const LINES_PER_CHUNK = 1_000
const WARM_UP_NAMESPACE = "bench-warm-up"

export const DETAIL = `NDJSON, batch ${MemorySettings.defaults.batchSize} × ${MemorySettings.defaults.batchConcurrency} (defaults)`

interface BatchAnswer {
  readonly stored: number
  readonly failedCount: number
  readonly failed: ReadonlyArray<{ readonly message: string }>
}

/** The rows as NDJSON lines, the same values the in-process path streams, in chunks of 1,000 lines. */
const ndjsonBody = (ctx: BenchContext): ReadonlyArray<Buffer> => {
  const { data } = ctx
  const chunks: Array<Buffer> = []
  for (let start = 0; start < data.rows; start += LINES_PER_CHUNK) {
    let text = ""
    for (let row = start; row < Math.min(data.rows, start + LINES_PER_CHUNK); row++) {
      text += JSON.stringify({ content: data.texts[row]!, id: data.id(row), metadata: data.metadata(row) }) + "\n"
    }
    chunks.push(Buffer.from(text, "utf8"))
  }
  return chunks
}

/** node:http rather than fetch: fetch gives up on an answer after 300 s, and a large load takes longer. */
const post = (url: string, chunks: ReadonlyArray<Buffer>) =>
  new Promise<{ readonly status: number; readonly body: string }>((resolve, reject) => {
    const length = chunks.reduce((n, c) => n + c.length, 0)
    const req = request(url, { method: "POST", headers: { "content-type": "application/x-ndjson", "content-length": length } }, (res) => {
      let body = ""
      res.setEncoding("utf8")
      res.on("data", (part: string) => void (body += part))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }))
      res.on("error", reject)
    })
    req.on("error", reject)
    pipeline(Readable.from(chunks), req).catch(reject)
  })

export interface HttpIngest {
  /** One round: a fresh `schema`, a server over it, the body posted; the rows stored and the seconds it took. */
  readonly load: (schema: string) => Effect.Effect<{ readonly rows: number; readonly seconds: number }>
}

/** What every round shares, made once in the scope: the vectors file the server's embedder reads, and the request body. */
export const make = (ctx: BenchContext, url: string): Effect.Effect<HttpIngest, never, Scope.Scope> =>
  Effect.gen(function*() {
    const dir = yield* Effect.acquireRelease(
      Effect.sync(() => mkdtempSync(join(tmpdir(), "agent-memory-bench-ingest-"))),
      (d) => Effect.sync(() => rmSync(d, { recursive: true, force: true }))
    )
    const vectorsFile = join(dir, "vectors.json")
    BenchEmbedderPlugin.writeRaw(vectorsFile, ctx.data.dims, ctx.data.texts, ctx.data.vectors)
    const body = ndjsonBody(ctx)
    const env = (schema: string) => ({
      MEMORY_STORE: "pgvector",
      DATABASE_URL: url,
      MEMORY_PG_SCHEMA: schema,
      MEMORY_INDEX: "none",
      MEMORY_PLUGINS: "./bench/BenchEmbedderPlugin.ts",
      MEMORY_EMBEDDER: "bench-precomputed",
      BENCH_VECTORS: vectorsFile,
      MEMORY_CACHE_QUERY_SIZE: "0",
      MEMORY_CACHE_EMBEDDING_SIZE: "0",
      MEMORY_CACHE_RESULT_SIZE: "0"
    })
    const load = (schema: string) =>
      Effect.promise(async () => {
        await Db.dropSchema(url, schema)
        return withServer(env(schema), async (base) => {
          const warmUp = await post(`${base}/v1/memories/batch?namespace=${WARM_UP_NAMESPACE}`, body.slice(0, 1))
          if (warmUp.status !== 200) throw new Error(`the warm-up batch answered ${warmUp.status}: ${warmUp.body.slice(0, 300)}`)
          const table = `${Db.quoteIdent(schema)}.memories`
          await Db.exec(url, `DELETE FROM ${table} WHERE namespace = '${WARM_UP_NAMESPACE}'`, `VACUUM ${table}`)
          await Db.checkpoint(url)
          const started = performance.now()
          const answer = await post(`${base}/v1/memories/batch?namespace=${Stack.NAMESPACE}`, body)
          const seconds = (performance.now() - started) / 1000
          if (answer.status !== 200) throw new Error(`POST /v1/memories/batch answered ${answer.status}: ${answer.body.slice(0, 300)}`)
          const result = JSON.parse(answer.body) as BatchAnswer
          if (result.stored !== ctx.data.rows) {
            throw new Error(`the server stored ${result.stored} of ${ctx.data.rows} (${result.failedCount} failed: ${result.failed[0]?.message})`)
          }
          return { rows: result.stored, seconds }
        }, 120_000)
      })
    return { load }
  })
