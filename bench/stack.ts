/**
 * agent-memory's own stack as the benchmark drives it: AgentMemory.layer over
 * the pgvector store (a schema per scenario), the precomputed embedder behind
 * the embedding cache, and the caches sized per measurement (off unless the
 * scenario is about them).
 */
import { Context, Duration, Effect, Layer, Redacted, type Scope } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { DEFAULT_EF_CONSTRUCTION, defaultIndex, type VectorIndex } from "../layers/store/sql/SqlStoreConfig.ts"
import { Memory } from "../src/memory/Memory.ts"
import * as MemorySettings from "../src/memory/MemorySettings.ts"
import type { Embedder } from "../src/ports/Embedder.ts"
import type { CacheName } from "../src/ports/MemoryCache.ts"

export const NAMESPACE = "bench"

export const hnsw = (efSearch: number = defaultIndex._tag === "hnsw" ? defaultIndex.efSearch : 40): VectorIndex =>
  defaultIndex._tag === "hnsw" ? { ...defaultIndex, efSearch } : { _tag: "hnsw", m: 16, efConstruction: DEFAULT_EF_CONSTRUCTION, efSearch }

export const noIndex: VectorIndex = { _tag: "none" }

/** The product's HNSW build options, which every system's index in the benchmark uses too. */
export const HNSW_M = defaultIndex._tag === "hnsw" ? defaultIndex.m : 16
export const HNSW_EF_CONSTRUCTION = defaultIndex._tag === "hnsw" ? defaultIndex.efConstruction : DEFAULT_EF_CONSTRUCTION
export const HNSW_LABEL = `m ${HNSW_M}, ef_construction ${HNSW_EF_CONSTRUCTION}`

export const cachesOff: Readonly<Record<CacheName, number>> = { searches: 0, embeddings: 0, records: 0 }

export interface StackOptions {
  readonly url: string
  readonly schema: string
  readonly embedder: Layer.Layer<Embedder>
  readonly index: VectorIndex
  readonly caches?: Readonly<Record<CacheName, number>> | undefined
  readonly redisUrl?: string | undefined
  readonly redisPrefix?: string | undefined
  readonly batchSize?: number | undefined
  readonly batchConcurrency?: number | undefined
  readonly pgSettings?: Readonly<Record<string, string>> | undefined
}

export const layer = (options: StackOptions) =>
  AgentMemory.layer({
    embedder: options.embedder,
    store: ({ dimensions }) =>
      PgvectorStore.layer({
        url: Redacted.make(options.url),
        schema: options.schema,
        dimensions,
        settings: { vectorType: "vector", index: options.index, pgSettings: options.pgSettings ?? {} }
      }),
    cache: TieredCache.layer({
      ...TieredCache.defaultOptions,
      entries: options.caches ?? cachesOff,
      ttl: Duration.minutes(30),
      redis: options.redisUrl === undefined
        ? undefined
        : { url: Redacted.make(options.redisUrl), prefix: options.redisPrefix ?? `bench:${options.schema}:` }
    }),
    settings: MemorySettings.layer({
      ...(options.batchSize === undefined ? {} : { batchSize: options.batchSize }),
      ...(options.batchConcurrency === undefined ? {} : { batchConcurrency: options.batchConcurrency })
    })
  })

/** Builds the stack in the current scope; answers the Memory service and how long start-up took (migrations, index builds). */
export const start = (options: StackOptions): Effect.Effect<{ readonly memory: Memory; readonly startMs: number }, unknown, Scope.Scope> =>
  Effect.gen(function*() {
    const started = performance.now()
    const context = yield* Layer.build(layer(options))
    return { memory: Context.get(context, Memory), startMs: performance.now() - started }
  })
