/**
 * What `agent-memory ingest` does with its sources, into this process's store
 * or, with `--url`, through a running server (the only way into a PGlite
 * directory a server holds). Every source ends as an outcome in the summary:
 * a file that cannot be read, a batch the store refused or a document that
 * failed is a line on stderr and a count, never a stack trace that stops the
 * run. Re-ingesting a document (same file name) replaces it; the summary counts
 * those replacements.
 */
import { createReadStream } from "node:fs"
import { Console, Effect } from "effect"
import { DocumentRequest } from "../domain/Document.ts"
import type { MemoryKind } from "../domain/Memory.ts"
import type { Memory } from "../memory/Memory.ts"
import { documentId, fileItems, listSources, readText } from "./ingestSources.ts"
import { makeProgress } from "./Progress.ts"

/** A failure as the summary shows it. */
export interface Failure {
  readonly _tag: string
  readonly message: string
}

export interface IngestOptions {
  readonly namespace?: string | undefined
  readonly kind?: MemoryKind | undefined
}

interface BatchSummary {
  readonly stored: number
  readonly duplicates: number
  readonly failedCount: number
  readonly failed: ReadonlyArray<{ readonly index: number; readonly _tag: string; readonly message: string }>
}

/** Where the records go: this process's Memory, or a server. */
export interface IngestTarget {
  /** An NDJSON file (or `-`) through the batch path. */
  readonly storeNdjson: (path: string, options: IngestOptions) => Effect.Effect<BatchSummary, Failure>
  readonly storeOne: (fields: { readonly content: string; readonly namespace?: string | undefined; readonly kind: MemoryKind; readonly source: string }) => Effect.Effect<{ readonly deduplicated: boolean }, Failure>
  readonly storeDocument: (request: DocumentRequest) => Effect.Effect<{ readonly chunks: number; readonly duplicates: number }, Failure>
  /** Whether a document with this id is stored (its first chunk is). */
  readonly hasDocument: (namespace: string | undefined, id: string) => Effect.Effect<boolean>
}

const asFailure = (e: { readonly _tag: string; readonly message: string }): Failure => ({ _tag: e._tag, message: e.message })

export const localTarget = (memory: Memory): IngestTarget => ({
  storeNdjson: (path, options) => memory.storeMany(fileItems(path), options).pipe(Effect.mapError(asFailure)),
  storeOne: ({ content, kind, namespace, source }) =>
    memory.store({ content, namespace, kind, metadata: { source } } as Parameters<Memory["store"]>[0]).pipe(Effect.mapError(asFailure)),
  storeDocument: (request) => memory.ingestDocument(request).pipe(Effect.mapError(asFailure)),
  hasDocument: (namespace, id) =>
    memory.get(`${id}:0`, namespace).pipe(Effect.as(true), Effect.orElseSucceed(() => false))
})

/** A running server's API, for `--url`. An API key comes from AGENT_MEMORY_API_KEY. */
export const remoteTarget = (base: string): IngestTarget => {
  const url = base.replace(/\/+$/, "")
  const key = process.env["AGENT_MEMORY_API_KEY"]
  const call = <A>(path: string, init: { readonly method?: string; readonly body?: string | NodeJS.ReadableStream; readonly contentType?: string }) =>
    Effect.tryPromise({
      try: async () => {
        const response = await fetch(`${url}${path}`, {
          method: init.method ?? "POST",
          headers: {
            "content-type": init.contentType ?? "application/json",
            ...(key === undefined ? {} : { authorization: `Bearer ${key}` })
          },
          ...(init.body === undefined ? {} : { body: init.body as unknown as NonNullable<RequestInit["body"]>, duplex: "half" }),
          signal: AbortSignal.timeout(10 * 60_000)
        } as RequestInit)
        const text = await response.text()
        let body: unknown
        try {
          body = JSON.parse(text)
        } catch {
          body = undefined
        }
        return { status: response.status, body, text }
      },
      catch: (e): Failure => ({ _tag: "ServerUnreachable", message: `no answer from ${url}: ${(e as Error).message}` })
    }).pipe(
      Effect.flatMap(({ body, status, text }) => {
        if (status >= 200 && status < 300) return Effect.succeed(body as A)
        const error = body as Partial<Failure> | undefined
        return Effect.fail<Failure>({ _tag: error?._tag ?? `HTTP ${status}`, message: error?.message ?? (text.slice(0, 200) || `status ${status}`) })
      })
    )
  const query = (options: IngestOptions) => {
    const params = new URLSearchParams()
    if (options.namespace !== undefined) params.set("namespace", options.namespace)
    if (options.kind !== undefined) params.set("kind", options.kind)
    const text = params.toString()
    return text === "" ? "" : `?${text}`
  }
  return {
    storeNdjson: (path, options) =>
      call<BatchSummary>(`/v1/memories/batch${query(options)}`, {
        body: path === "-" ? process.stdin : createReadStream(path),
        contentType: "application/x-ndjson"
      }),
    storeOne: ({ content, kind, namespace, source }) =>
      call<{ readonly deduplicated: boolean }>("/v1/memories", {
        body: JSON.stringify({ content, kind, metadata: { source }, ...(namespace === undefined ? {} : { namespace }) })
      }),
    storeDocument: (request) =>
      call<{ readonly chunks: number; readonly duplicates: number }>("/v1/documents", { body: JSON.stringify(request) }),
    // A search by the document's id (ids hold `/`, which a path segment cannot carry).
    hasDocument: (namespace, id) =>
      call<{ readonly hits: ReadonlyArray<unknown> }>("/v1/search", {
        body: JSON.stringify({
          query: id,
          k: 1,
          kinds: ["knowledge"],
          filter: { documentId: id },
          ...(namespace === undefined ? {} : { namespace })
        })
      }).pipe(
        Effect.map(({ hits }) => hits.length > 0),
        Effect.orElseSucceed(() => false)
      )
  }
}

export interface IngestSummary {
  readonly sources: number
  readonly stored: number
  readonly duplicates: number
  /** Documents that replaced an earlier one of the same id. */
  readonly replaced: number
  readonly failed: number
  readonly chunks: number
}

/** Ingests every source under `paths`; prints failures and the summary line; exit code 1 when anything failed. */
export const runIngest = (target: IngestTarget, paths: ReadonlyArray<string>, options: IngestOptions) =>
  Effect.gen(function*() {
    const sources = yield* listSources(paths)
    const totals = { stored: 0, duplicates: 0, replaced: 0, failed: 0, chunks: 0 }
    const failures: Array<string> = []
    const fail = (line: string) => {
      totals.failed++
      failures.push(line)
    }
    const progress = makeProgress("ingesting", sources.length)
    for (const source of sources) {
      if (source._tag === "unreadable") {
        fail(`${source.path}: InvalidInput: ${source.message}`)
      } else if (source._tag === "ndjson") {
        const result = yield* Effect.either(target.storeNdjson(source.path, options))
        if (result._tag === "Left") {
          fail(`${source.path}: ${result.left._tag}: ${result.left.message}`)
        } else {
          totals.stored += result.right.stored
          totals.duplicates += result.right.duplicates
          totals.failed += result.right.failedCount
          failures.push(...result.right.failed.slice(0, 20).map((f) => `${source.path} item ${f.index}: ${f._tag}: ${f.message}`))
        }
      } else {
        const outcome = Effect.gen(function*() {
          const content = yield* readText(source.path).pipe(Effect.mapError(asFailure))
          if (options.kind === "memory" || options.kind === "message") {
            const r = yield* target.storeOne({ content, namespace: options.namespace, kind: options.kind, source: source.relativePath })
            totals.stored += r.deduplicated ? 0 : 1
            totals.duplicates += r.deduplicated ? 1 : 0
            return
          }
          const id = documentId(source.relativePath)
          const existed = yield* target.hasDocument(options.namespace, id)
          const request = yield* Effect.try({
            try: () => new DocumentRequest({ content, id, title: source.relativePath, source: source.relativePath, namespace: options.namespace }),
            catch: (e): Failure => ({ _tag: "InvalidInput", message: (e as Error).message.split("\n").at(-1) ?? "invalid document" })
          })
          const d = yield* target.storeDocument(request)
          totals.stored += d.chunks - d.duplicates
          totals.duplicates += d.duplicates
          totals.chunks += d.chunks
          if (existed) totals.replaced++
        })
        const result = yield* Effect.either(outcome)
        if (result._tag === "Left") fail(`${source.path}: ${result.left._tag}: ${result.left.message}`)
      }
      progress.advance()
    }
    const seconds = progress.finish()
    for (const line of failures) yield* Console.error(line)
    yield* Console.log(
      `ingested ${sources.length} source${sources.length === 1 ? "" : "s"} in ${seconds.toFixed(1)} s: ` +
        `${totals.stored} stored, ${totals.duplicates} duplicates, ${totals.replaced} replaced, ${totals.failed} failed` +
        (totals.chunks > 0 ? ` (${totals.chunks} document chunks)` : "")
    )
    if (totals.failed > 0) process.exitCode = 1
    return { sources: sources.length, ...totals } satisfies IngestSummary
  })
