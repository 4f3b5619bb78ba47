/**
 * The Memory service: what an agent calls. It turns requests into records
 * (ids, content hash, times, embeddings) and searches into vector queries, over
 * whichever Store and Embedder the application composed.
 */
import { randomUUID } from "node:crypto"
import { Effect, Option } from "effect"
import { MemoryNotFound } from "../domain/errors.ts"
import { DEFAULT_NAMESPACE, MemoryRecord, StoredMemory, type StoreMemoryRequest } from "../domain/Memory.ts"
import { DEFAULT_K, SearchHit, SearchResponse, type SearchRequest } from "../domain/Search.ts"
import { Embedder } from "../ports/Embedder.ts"
import { MemoryStore } from "../ports/MemoryStore.ts"
import { contentHash } from "./contentHash.ts"

export class Memory extends Effect.Service<Memory>()("agent-memory/Memory", {
  effect: Effect.gen(function*() {
    const store = yield* MemoryStore
    const embedder = yield* Embedder

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
      yield* Effect.annotateCurrentSpan("memory.deduplicated", outcome!.deduplicated)
      return new StoredMemory({ ...outcome!.record, deduplicated: outcome!.deduplicated }, true)
    })

    const search = Effect.fn("Memory.search")(function*(request: SearchRequest) {
      const started = performance.now()
      const namespace = request.namespace ?? DEFAULT_NAMESPACE
      const k = request.k ?? DEFAULT_K
      yield* Effect.annotateCurrentSpan({
        "memory.namespace": namespace,
        "memory.k": k,
        "memory.mode": request.mode ?? "vector",
        "memory.store": store.provider
      })
      const embedding = yield* embedder.embed(request.query)
      const scored = yield* store.search({
        namespace,
        embedding,
        k,
        minScore: request.minScore ?? 0,
        kinds: request.kinds,
        tags: request.tags,
        sessionId: request.sessionId,
        filter: request.filter
      })
      yield* Effect.annotateCurrentSpan("memory.results", scored.length)
      const hits = scored.map(({ record: r, score }) =>
        new SearchHit({
          id: r.id,
          namespace: r.namespace,
          content: r.content,
          score,
          kind: r.kind,
          tags: r.tags,
          metadata: r.metadata,
          sessionId: r.sessionId,
          createdAt: r.createdAt
        }, true)
      )
      return new SearchResponse({ hits, cached: false, tookMs: performance.now() - started }, true)
    })

    const get = Effect.fn("Memory.get")(function*(id: string, namespace: string = DEFAULT_NAMESPACE) {
      const found = yield* store.get(namespace, id)
      return yield* Option.match(found, {
        onNone: () => Effect.fail(MemoryNotFound.of(namespace, id)),
        onSome: Effect.succeed
      })
    })

    const remove = Effect.fn("Memory.delete")(function*(id: string, namespace: string = DEFAULT_NAMESPACE) {
      const deleted = yield* store.delete(namespace, id)
      if (!deleted) return yield* MemoryNotFound.of(namespace, id)
    })

    return { store: storeMemory, search, get, delete: remove, ping: store.ping, provider: store.provider } as const
  })
}) {}
