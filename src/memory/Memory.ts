/**
 * The Memory service: what an agent calls. It turns requests into records
 * (ids, content hash, times, embeddings) and searches into store queries, over
 * whichever Store and Embedder the application composed, with the caches in
 * front: a write is acknowledged only after its namespace's cached searches and
 * records are unreachable, so a cached answer is never one a write made wrong.
 * An expiry sweeper runs as a scoped fiber beside it.
 */
import { Effect, Option, Schedule, type Stream } from "effect"
import { ContextResponse, type ContextRequest } from "../domain/Context.ts"
import { DocumentResult, type DocumentRequest, DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE } from "../domain/Document.ts"
import { KeyNotFound, MemoryNotFound } from "../domain/errors.ts"
import { filterTree, type MetadataFilter } from "../domain/Filter.ts"
import { KvEntry, type KvPutRequest } from "../domain/KeyValue.ts"
import {
  DEFAULT_NAMESPACE,
  type MemoryKind,
  type MemoryRecord,
  StoredMemory,
  type StoreMemoryRequest,
  type UpdateMemoryRequest
} from "../domain/Memory.ts"
import { DEFAULT_K, SearchHit, type SearchMode, SearchRequest, SearchResponse } from "../domain/Search.ts"
import { type AddMessageRequest, History, Message, type MessageRole } from "../domain/Session.ts"
import { Embedder } from "../ports/Embedder.ts"
import { MemoryCache } from "../ports/MemoryCache.ts"
import { MemoryStore, type RecordSelector, type ScoredRecord } from "../ports/MemoryStore.ts"
import { inSpan } from "../observability/inSpan.ts"
import * as Metrics from "../observability/Metrics.ts"
import { SearchStats } from "../observability/SearchStats.ts"
import { randomUUID } from "node:crypto"
import { chunkText } from "./Chunker.ts"
import { contentHash } from "./contentHash.ts"
import { buildContext, DEFAULT_HISTORY_LIMIT } from "./ContextBuilder.ts"
import { fuse, HYBRID_DEPTH } from "./fusion.ts"
import { type IngestDefaults, type IngestItem, makeIngest } from "./Ingest.ts"
import { defaults as defaultSettings, MemorySettings } from "./MemorySettings.ts"
import { buildRecord } from "./records.ts"
import { searchKey } from "./searchKey.ts"
import { tokenizer } from "./Tokenizer.ts"

/**
 * Vector hits must score above zero (a minScore can only raise the floor): a record with cosine
 * ≤ 0 shares nothing with the query and must not fill k. Higher floors cost recall on the local
 * embedder's vectors (0.01: −0.014 nDCG@10 on the labelled set; bench/PERFORMANCE.md).
 */
export const VECTOR_FLOOR = 1e-6

const live = (expiresAt: Date | null, now: number) => expiresAt === null || expiresAt.getTime() > now

const toHit = ({ record: r, score }: ScoredRecord) =>
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

const toMessage = (r: MemoryRecord) =>
  new Message({
    id: r.id,
    sessionId: r.sessionId ?? "",
    role: (r.metadata["role"] as MessageRole | undefined) ?? "user",
    content: r.content,
    metadata: r.metadata,
    createdAt: r.createdAt
  }, true)

/** A selection of records, as the API names it. */
export interface Selection {
  readonly namespace?: string | undefined
  readonly filter?: MetadataFilter | undefined
  readonly kinds?: ReadonlyArray<MemoryKind> | undefined
  readonly tags?: ReadonlyArray<string> | undefined
  readonly tagMatch?: "all" | "any" | undefined
  readonly sessionId?: string | undefined
}

const selector = (s: Selection): RecordSelector => ({
  namespace: s.namespace ?? DEFAULT_NAMESPACE,
  kinds: s.kinds,
  tags: s.tags,
  tagMatch: s.tagMatch,
  sessionId: s.sessionId,
  filter: s.filter === undefined ? undefined : filterTree(s.filter)
})

export class Memory extends Effect.Service<Memory>()("agent-memory/Memory", {
  scoped: Effect.gen(function*() {
    const store = yield* MemoryStore
    const embedder = yield* Embedder
    const cache = yield* MemoryCache
    const stats = yield* SearchStats
    const settings = Option.getOrElse(yield* Effect.serviceOption(MemorySettings), () => defaultSettings)
    const { ingest } = makeIngest({ store, embedder, cache, settings })

    // The sweeper: expired records are never returned; this reclaims their space.
    yield* store.deleteExpired.pipe(
      Effect.tap((n) => (n > 0 ? Effect.logDebug(`expiry sweep deleted ${n}`) : Effect.void)),
      Effect.catchAll((e) => Effect.logWarning(`expiry sweep failed: ${e.message}`)),
      Effect.repeat(Schedule.spaced(settings.sweepInterval)),
      Effect.delay(settings.sweepInterval),
      Effect.interruptible,
      Effect.forkScoped
    )

    const storeMemory = Effect.fn("Memory.store")(function*(request: StoreMemoryRequest) {
      const namespace = request.namespace ?? DEFAULT_NAMESPACE
      yield* Effect.annotateCurrentSpan({ "memory.namespace": namespace, "memory.store": store.provider })
      const embedding = yield* embedder.embed(request.content)
      const record = buildRecord({ ...request, namespace }, embedder)
      const [outcome] = yield* store.insert([{ record, embedding }])
      if (!outcome!.deduplicated) yield* cache.invalidate(namespace)
      yield* Effect.annotateCurrentSpan("memory.deduplicated", outcome!.deduplicated)
      return new StoredMemory({ ...outcome!.record, deduplicated: outcome!.deduplicated }, true)
    })

    /** The store query behind a search, by mode. Hybrid fuses a wider vector and keyword list. */
    const runSearch = (request: SearchRequest, mode: SearchMode, k: number, minScore: number) =>
      Effect.gen(function*() {
        const base = { ...selector(request), k }
        const vector = (limit: number, floor: number) =>
          Effect.flatMap(embedder.embed(request.query), (embedding) =>
            store.search({ ...base, k: limit, embedding, minScore: floor }))
        const keyword = (limit: number) => store.keywordSearch({ ...base, k: limit, text: request.query })
        switch (mode) {
          case "vector":
            return yield* vector(k, Math.max(minScore, VECTOR_FLOOR))
          case "keyword":
            return (yield* keyword(k)).filter((h) => h.score >= minScore)
          case "hybrid": {
            // Each list's depth and the fusion were chosen on the labelled set (src/memory/fusion.ts).
            const depth = Math.min(200, Math.max(k, HYBRID_DEPTH))
            const [v, t] = yield* Effect.all([vector(depth, VECTOR_FLOOR), keyword(depth)], { concurrency: 2 })
            return fuse(v, t).filter((h) => h.score >= minScore).slice(0, k)
          }
        }
      })

    // The hottest path: a plain function with one span, its attributes set directly on it
    // and no call-site stack capture (Effect.fn and annotateCurrentSpan cost more per call).
    const search = (request: SearchRequest) => {
      const namespace = request.namespace ?? DEFAULT_NAMESPACE
      const k = request.k ?? DEFAULT_K
      const minScore = request.minScore ?? 0
      const mode = request.mode ?? "vector"
      const attributes = { "memory.namespace": namespace, "memory.k": k, "memory.mode": mode, "memory.store": store.provider }
      return inSpan("Memory.search", attributes, (span) =>
        stats.observe(
          Effect.suspend(() => {
            const started = performance.now()
            const key = searchKey(request, { k, minScore, mode, model: embedder.model, dimensions: embedder.dimensions })
            const compute = Effect.map(runSearch(request, mode, k, minScore), (scored) => scored.map(toHit))
            return Effect.map(cache.searches.getOrCompute(namespace, key, compute), ({ hit, value }) => {
              // A cached answer may hold a record that has expired since.
              const now = Date.now()
              const hits = hit ? value.filter((h) => live(h.expiresAt, now)) : value
              span.attribute("memory.cache_hit", hit)
              span.attribute("memory.results", hits.length)
              return new SearchResponse({ hits, cached: hit, tookMs: performance.now() - started }, true)
            })
          }),
          mode
        ))
    }

    const get = Effect.fn("Memory.get")(function*(id: string, namespace: string = DEFAULT_NAMESPACE) {
      const { value } = yield* cache.records.getOrCompute(namespace, id, store.get(namespace, id))
      const found = Option.filter(value, (r) => live(r.expiresAt, Date.now()))
      return yield* Option.match(found, {
        onNone: () => Effect.fail(MemoryNotFound.of(namespace, id)),
        onSome: Effect.succeed
      })
    })

    const update = Effect.fn("Memory.update")(function*(id: string, request: UpdateMemoryRequest, namespace: string = DEFAULT_NAMESPACE) {
      const now = new Date()
      const content = request.content === undefined
        ? undefined
        : { text: request.content, hash: contentHash(request.content), embedding: yield* embedder.embed(request.content), model: embedder.model }
      const updated = yield* store.update(namespace, id, {
        content,
        kind: request.kind,
        tags: request.tags,
        metadata: request.metadata,
        expiresAt: request.ttlSeconds === undefined
          ? undefined
          : request.ttlSeconds === null
          ? null
          : new Date(now.getTime() + request.ttlSeconds * 1000),
        updatedAt: now
      })
      if (Option.isNone(updated)) return yield* MemoryNotFound.of(namespace, id)
      yield* cache.invalidate(namespace)
      return updated.value
    })

    const remove = Effect.fn("Memory.delete")(function*(id: string, namespace: string = DEFAULT_NAMESPACE) {
      const deleted = yield* store.delete(namespace, id)
      if (!deleted) return yield* MemoryNotFound.of(namespace, id)
      yield* cache.invalidate(namespace)
    })

    const deleteWhere = Effect.fn("Memory.deleteWhere")(function*(selection: Selection) {
      const target = selector(selection)
      const deleted = yield* store.deleteWhere(target)
      if (deleted > 0) yield* cache.invalidate(target.namespace)
      return deleted
    })

    const storeMany = <E>(items: Stream.Stream<IngestItem, E>, defaults: IngestDefaults = {}) => ingest(items, defaults)

    const ingestDocument = Effect.fn("Memory.ingestDocument")(function*(request: DocumentRequest) {
      const namespace = request.namespace ?? DEFAULT_NAMESPACE
      const documentId = request.id ?? randomUUID()
      const chunks = chunkText(request.content, request.chunkSize ?? DEFAULT_CHUNK_SIZE, request.chunkOverlap ?? DEFAULT_CHUNK_OVERLAP)
      yield* Effect.annotateCurrentSpan({ "memory.namespace": namespace, "memory.chunks": chunks.length })
      const embeddings = yield* embedder.embedMany(chunks.map((c) => c.text))
      const now = new Date()
      const described = {
        ...request.metadata,
        documentId,
        ...(request.title === undefined ? {} : { title: request.title }),
        ...(request.source === undefined ? {} : { source: request.source }),
        ...(request.type === undefined ? {} : { type: request.type }),
        chunks: chunks.length
      }
      const records = chunks.map((chunk, i) => ({
        embedding: embeddings[i]!,
        record: buildRecord({
          id: `${documentId}:${chunk.position}`,
          namespace,
          kind: "knowledge",
          content: chunk.text,
          tags: request.tags,
          metadata: { ...described, position: chunk.position }
        }, embedder, now)
      }))
      // Re-ingesting a document replaces its chunks, atomically.
      const outcomes = yield* store.replace(
        { namespace, kinds: ["knowledge"], filter: filterTree({ documentId }) },
        records
      )
      yield* cache.invalidate(namespace)
      return new DocumentResult({ documentId, chunks: chunks.length, duplicates: outcomes.filter((o) => o.deduplicated).length }, true)
    })

    const remember = Effect.fn("Memory.remember")(function*(key: string, request: KvPutRequest) {
      const namespace = request.namespace ?? DEFAULT_NAMESPACE
      const expiresAt = request.ttlSeconds === undefined ? null : new Date(Date.now() + request.ttlSeconds * 1000)
      return new KvEntry(yield* store.kvSet(namespace, key, request.value, expiresAt), true)
    })

    const recall = Effect.fn("Memory.recall")(function*(key: string, namespace: string = DEFAULT_NAMESPACE) {
      const entry = yield* store.kvGet(namespace, key)
      if (Option.isNone(entry)) return yield* KeyNotFound.of(namespace, key)
      return new KvEntry(entry.value, true)
    })

    const forget = Effect.fn("Memory.forget")(function*(key: string, namespace: string = DEFAULT_NAMESPACE) {
      if (!(yield* store.kvDelete(namespace, key))) return yield* KeyNotFound.of(namespace, key)
    })

    const addMessage = Effect.fn("Memory.addMessage")(function*(sessionId: string, request: AddMessageRequest) {
      const stored = yield* storeMemory({
        content: request.content,
        namespace: request.namespace,
        sessionId,
        kind: "message",
        metadata: { ...request.metadata, role: request.role }
      } as StoreMemoryRequest)
      return toMessage(stored)
    })

    const history = Effect.fn("Memory.history")(function*(sessionId: string, options: { readonly namespace?: string | undefined; readonly limit?: number | undefined } = {}) {
      const records = yield* store.list(
        { namespace: options.namespace ?? DEFAULT_NAMESPACE, sessionId, kinds: ["message"] },
        { limit: options.limit ?? 50, newestFirst: true }
      )
      return new History({ sessionId, messages: records.map(toMessage).reverse() }, true)
    })

    const clearSession = Effect.fn("Memory.clearSession")(function*(sessionId: string, namespace: string = DEFAULT_NAMESPACE) {
      return yield* deleteWhere({ namespace, sessionId, kinds: ["message"] })
    })

    const context = Effect.fn("Memory.context")(function*(request: ContextRequest) {
      const namespace = request.namespace ?? DEFAULT_NAMESPACE
      const ask = (kinds: ReadonlyArray<MemoryKind>) =>
        search(new SearchRequest({ query: request.query, namespace, k: 20, mode: "hybrid", kinds, minScore: request.minScore }, true))
      const historyLimit = request.historyLimit ?? DEFAULT_HISTORY_LIMIT
      const [memories, knowledge, past, encoder] = yield* Effect.all([
        ask(["memory"]),
        ask(["knowledge"]),
        request.sessionId === undefined || historyLimit === 0
          ? Effect.succeed(undefined)
          : history(request.sessionId, { namespace, limit: historyLimit }),
        Effect.promise(() => tokenizer(settings.tokenizer))
      ], { concurrency: "unbounded" })
      const built = buildContext(request, {
        memories: memories.hits,
        knowledge: knowledge.hits,
        history: past?.messages ?? []
      }, encoder)
      yield* Effect.annotateCurrentSpan({ "memory.tokens": built.tokenCount, "memory.sources": built.sources.length })
      return new ContextResponse(built, true)
    })

    // Failures counted per operation (searches are counted by SearchStats).
    const { counted } = Metrics
    return {
      store: counted("store", storeMemory),
      storeMany: <E>(items: Stream.Stream<IngestItem, E>, defaults?: IngestDefaults) =>
        Metrics.countErrors("storeMany")(storeMany(items, defaults)),
      search,
      get: counted("get", get),
      update: counted("update", update),
      delete: counted("delete", remove),
      deleteWhere: counted("deleteWhere", deleteWhere),
      ingestDocument: counted("ingestDocument", ingestDocument),
      remember: counted("remember", remember),
      recall: counted("recall", recall),
      forget: counted("forget", forget),
      addMessage: counted("addMessage", addMessage),
      history: counted("history", history),
      clearSession: counted("clearSession", clearSession),
      context: counted("context", context),
      ping: Metrics.countErrors("ping")(store.ping),
      provider: store.provider,
      embedder: { model: embedder.model, dimensions: embedder.dimensions }
    } as const
  })
}) {}
