/**
 * The Memory service: what an agent calls. It turns requests into records
 * (ids, content hash, times, embeddings) and searches into vector queries, over
 * whichever Store and Embedder the application composed, with the caches in
 * front: a write is acknowledged only after its namespace's cached searches and
 * records are unreachable, so a cached answer is never one a write made wrong.
 */
import { randomUUID } from "node:crypto"
import { Effect, Option } from "effect"
import { MemoryNotFound } from "../domain/errors.ts"
import { filterTree } from "../domain/Filter.ts"
import { DEFAULT_NAMESPACE, MemoryRecord, StoredMemory, type StoreMemoryRequest } from "../domain/Memory.ts"
import { DEFAULT_K, SearchHit, SearchResponse, type SearchRequest } from "../domain/Search.ts"
import { Embedder } from "../ports/Embedder.ts"
import { MemoryCache } from "../ports/MemoryCache.ts"
import { MemoryStore } from "../ports/MemoryStore.ts"
import { contentHash } from "./contentHash.ts"
import { searchKey } from "./searchKey.ts"

const live = (expiresAt: Date | null, now: number) => expiresAt === null || expiresAt.getTime() > now

export class Memory extends Effect.Service<Memory>()("agent-memory/Memory", {
  effect: Effect.gen(function*() {
    const store = yield* MemoryStore
    const embedder = yield* Embedder
    const cache = yield* MemoryCache

    const storeMemory = Effect.fn("Memory.store")(function*(request: StoreMemoryRequest) {
      const namespace = request.namespace ?? DEFAULT_NAMESPACE
      yield* Effect.annotateCurrentSpan({ "memory.namespace": namespace, "memory.store": store.provider })
      const embedding = yield* embedder.embed(request.content)
      const now = new Date()
      const record = new MemoryRecord({
        id: request.id ?? randomUUID(),
        namespace,
        kind: request.kind ?? "memory",
        content: request.content,
        contentHash: contentHash(request.content),
        tags: request.tags ?? [],
        metadata: request.metadata ?? {},
        sessionId: request.sessionId ?? null,
        createdAt: now,
        updatedAt: now,
        expiresAt: request.ttlSeconds === undefined ? null : new Date(now.getTime() + request.ttlSeconds * 1000),
        embeddingModel: embedder.model,
        embeddingDimensions: embedder.dimensions
      }, true)
      const [outcome] = yield* store.insert([{ record, embedding }])
      if (!outcome!.deduplicated) yield* cache.invalidate(namespace)
      yield* Effect.annotateCurrentSpan("memory.deduplicated", outcome!.deduplicated)
      return new StoredMemory({ ...outcome!.record, deduplicated: outcome!.deduplicated }, true)
    })

    const search = Effect.fn("Memory.search")(function*(request: SearchRequest) {
      const started = performance.now()
      const namespace = request.namespace ?? DEFAULT_NAMESPACE
      const k = request.k ?? DEFAULT_K
      const minScore = request.minScore ?? 0
      const mode = request.mode ?? "vector"
      yield* Effect.annotateCurrentSpan({
        "memory.namespace": namespace,
        "memory.k": k,
        "memory.mode": mode,
        "memory.store": store.provider
      })
      const key = searchKey(request, { k, minScore, mode, model: embedder.model, dimensions: embedder.dimensions })
      const compute = Effect.gen(function*() {
        const embedding = yield* embedder.embed(request.query)
        const scored = yield* store.search({
          namespace,
          embedding,
          k,
          minScore,
          kinds: request.kinds,
          tags: request.tags,
          sessionId: request.sessionId,
          filter: request.filter === undefined ? undefined : filterTree(request.filter)
        })
        return scored.map(({ record: r, score }) =>
          new SearchHit({
            id: r.id,
            namespace: r.namespace,
            content: r.content,
            score,
            kind: r.kind,
            tags: r.tags,
            metadata: r.metadata,
            sessionId: r.sessionId,
            createdAt: r.createdAt,
            expiresAt: r.expiresAt
          }, true)
        )
      })
      const { hit, value } = yield* cache.searches.getOrCompute(namespace, key, compute)
      // A cached answer may hold a record that has expired since.
      const now = Date.now()
      const hits = hit ? value.filter((h) => live(h.expiresAt, now)) : value
      yield* Effect.annotateCurrentSpan({ "memory.cache_hit": hit, "memory.results": hits.length })
      return new SearchResponse({ hits, cached: hit, tookMs: performance.now() - started }, true)
    })

    const get = Effect.fn("Memory.get")(function*(id: string, namespace: string = DEFAULT_NAMESPACE) {
      const { value } = yield* cache.records.getOrCompute(namespace, id, store.get(namespace, id))
      const found = Option.filter(value, (r) => live(r.expiresAt, Date.now()))
      return yield* Option.match(found, {
        onNone: () => Effect.fail(MemoryNotFound.of(namespace, id)),
        onSome: Effect.succeed
      })
    })

    const remove = Effect.fn("Memory.delete")(function*(id: string, namespace: string = DEFAULT_NAMESPACE) {
      const deleted = yield* store.delete(namespace, id)
      if (!deleted) return yield* MemoryNotFound.of(namespace, id)
      yield* cache.invalidate(namespace)
    })

    return { store: storeMemory, search, get, delete: remove, ping: store.ping, provider: store.provider } as const
  })
}) {}
