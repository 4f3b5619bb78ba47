/**
 * The Memory service: what an agent calls. It turns requests into records
 * (ids, content hash, times, embeddings) and searches into store queries, over
 * whichever Store and Embedder the application composed, with the caches in
 * front: a write is acknowledged only after its namespace's cached searches and
 * records are unreachable, so a cached answer is never one a write made wrong.
 * An expiry sweeper runs as a scoped fiber beside it.
 */
import { Effect, Exit, type Fiber, Option, Schedule, type Stream } from "effect"
import { ContextResponse, type ContextRequest } from "../domain/Context.ts"
import { DocumentResult, type DocumentRequest, DEFAULT_CHUNK_OVERLAP, DEFAULT_CHUNK_SIZE } from "../domain/Document.ts"
import { KeyNotFound, MemoryNotFound } from "../domain/errors.ts"
import { filterTree } from "../domain/Filter.ts"
import { KvEntry, type KvPutRequest } from "../domain/KeyValue.ts"
import {
  DEFAULT_NAMESPACE,
  MAX_K,
  type MemoryKind,
  type MemoryRecord,
  StoredMemory,
  type StoreMemoryRequest,
  type UpdateMemoryRequest
} from "../domain/Memory.ts"
import { SearchHit, SearchRequest, SearchResponse } from "../domain/Search.ts"
import { type AddMessageRequest, History, Message, type MessageRole } from "../domain/Session.ts"
import { trusted } from "../domain/trusted.ts"
import { Embedder } from "../ports/Embedder.ts"
import { type CachedSearch, MemoryCache } from "../ports/MemoryCache.ts"
import { MemoryStore, type ScoredRecord } from "../ports/MemoryStore.ts"
import * as HandSpan from "../observability/handSpan.ts"
import * as Metrics from "../observability/Metrics.ts"
import { SearchStats } from "../observability/SearchStats.ts"
import { randomUUID } from "node:crypto"
import { chunkText } from "./Chunker.ts"
import { contentHash } from "./contentHash.ts"
import {
  buildContext,
  DEFAULT_CONVERSATION_WEIGHT,
  DEFAULT_HISTORY_LIMIT,
  DEFAULT_KNOWLEDGE_WEIGHT,
  DEFAULT_MAX_TOKENS,
  DEFAULT_PERSONAL_WEIGHT
} from "./ContextBuilder.ts"
import { fuse, HYBRID_DEPTH } from "./fusion.ts"
import { type IngestDefaults, type IngestItem, makeIngest } from "./Ingest.ts"
import { defaults as defaultSettings, MemorySettings } from "./MemorySettings.ts"
import { buildRecord } from "./records.ts"
import { planSearch, type SearchPlan, searchKey, selector, type Selection } from "./SearchPlan.ts"
import { tokenizer } from "./Tokenizer.ts"
import { boostByRecency } from "./Recency.ts"
import { rerankHits } from "./Reranking.ts"
import { Reranker } from "../ports/Reranker.ts"

/**
 * Vector hits must score above zero (a minScore can only raise the floor): a record with cosine
 * ≤ 0 shares nothing with the query and must not fill k. Higher floors cost recall on the local
 * embedder's vectors (0.01: −0.014 nDCG@10 on the labelled set; bench/PERFORMANCE.md).
 */
export const VECTOR_FLOOR = 1e-6

type AnyFiber = Fiber.RuntimeFiber<unknown, unknown>

/** A search decided once (Memory.cachedSearch.plan): its plan, its cache key, its span's attributes. */
export interface PlannedSearch {
  readonly plan: SearchPlan
  readonly key: string
  readonly attributes: Record<string, unknown>
}

const live = (expiresAt: Date | null, now: number) => expiresAt === null || expiresAt.getTime() > now

// Built for every hit of every computed search: `trusted` skips the Schema constructor's pass.
const toHit = ({ record: r, score }: ScoredRecord): SearchHit =>
  trusted(SearchHit, {
    id: r.id,
    namespace: r.namespace,
    content: r.content,
    score,
    kind: r.kind,
    tags: r.tags,
    metadata: r.metadata,
    sessionId: r.sessionId,
    createdAt: r.createdAt,
    expiresAt: r.expiresAt,
    occurredAt: r.occurredAt
  })

const toMessage = (r: MemoryRecord) =>
  new Message({
    id: r.id,
    sessionId: r.sessionId ?? "",
    role: (r.metadata["role"] as MessageRole | undefined) ?? "user",
    content: r.content,
    metadata: r.metadata,
    createdAt: r.createdAt,
    occurredAt: r.occurredAt
  }, true)

export type { Selection } from "./SearchPlan.ts"

export interface HistoryOptions {
  readonly namespace?: string | undefined
  readonly limit?: number | undefined
  readonly since?: Date | undefined
  readonly until?: Date | undefined
}

/** A message found by a search, as history shows it. */
const hitToMessage = (h: SearchHit) =>
  new Message({
    id: h.id,
    sessionId: h.sessionId ?? "",
    role: (h.metadata["role"] as MessageRole | undefined) ?? "user",
    content: h.content,
    metadata: h.metadata,
    createdAt: h.createdAt,
    occurredAt: h.occurredAt
  }, true)

/** Hits to ask for per section: enough to fill the budget (about this many tokens a hit at least). */
const TOKENS_PER_HIT = 25

/** The first expiry among the records an answer was computed from: the answer is good until then. */
const firstExpiry = (lists: ReadonlyArray<ReadonlyArray<ScoredRecord>>): Date | null => {
  let first: number | null = null
  for (const list of lists) {
    for (const { record } of list) {
      const at = record.expiresAt?.getTime()
      if (at !== undefined && (first === null || at < first)) first = at
    }
  }
  return first === null ? null : new Date(first)
}

export class Memory extends Effect.Service<Memory>()("agent-memory/Memory", {
  scoped: Effect.gen(function*() {
    const store = yield* MemoryStore
    const embedder = yield* Embedder
    const cache = yield* MemoryCache
    const stats = yield* SearchStats
    const settings = Option.getOrElse(yield* Effect.serviceOption(MemorySettings), () => defaultSettings)
    // Optional second stage: none unless the application provides one (MEMORY_RERANKER).
    const reranker = Option.getOrUndefined(yield* Effect.serviceOption(Reranker))
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
      const record = buildRecord(request, { namespace }, embedder)
      const [outcome] = yield* cache.writing([namespace], store.insert([{ record, embedding }]), ([o]) => !o!.deduplicated)
      yield* Effect.annotateCurrentSpan("memory.deduplicated", outcome!.deduplicated)
      return new StoredMemory({ ...outcome!.record, deduplicated: outcome!.deduplicated }, true)
    })

    /**
     * The store query behind a search, by mode, from the plan alone (so the plan, and its key, is all
     * that decides the answer). Hybrid fuses a wider vector and keyword list. Answers the hits and
     * the first expiry among every record that went into them.
     */
    const runSearch = (plan: SearchPlan) => {
      const { k, minScore, query } = plan
      const base = { ...plan.selector, k }
      const vector = (limit: number, floor: number) =>
        Effect.flatMap(embedder.embed(query), (embedding) => store.search({ ...base, k: limit, embedding, minScore: floor }))
      // The commonest search, without a generator around it.
      if (plan.mode === "vector") return Effect.map(vector(k, Math.max(minScore, VECTOR_FLOOR)), (v) => ({ hits: v, validUntil: firstExpiry([v]) }))
      const keyword = (limit: number) => store.keywordSearch({ ...base, k: limit, text: query })
      return Effect.gen(function*() {
        if (plan.mode === "keyword") {
          const t = yield* keyword(k)
          return { hits: t.filter((h) => h.score >= minScore), validUntil: firstExpiry([t]) }
        }
        // Hybrid: each list's depth and the fusion were chosen on the labelled set (src/memory/fusion.ts).
        const depth = Math.min(200, Math.max(k, HYBRID_DEPTH))
        const [v, t] = yield* Effect.all([vector(depth, VECTOR_FLOOR), keyword(depth)], { concurrency: 2 })
        const hits = fuse(v, t).filter((h) => h.score >= minScore).slice(0, k)
        return { hits, validUntil: firstExpiry([v, t]) }
      })
    }

    /**
     * Retrieval, then the optional stages over a deeper candidate list: the reranker (its
     * MEMORY_RERANK_DEPTH candidates), then the recency boost (4·k candidates); then the top k.
     */
    const rankedSearch = (plan: SearchPlan) => {
      if (plan.reranker === null && plan.recency === null) return runSearch(plan)
      const depth = Math.max(plan.k, plan.reranker !== null && reranker ? reranker.depth : Math.min(MAX_K, plan.k * 4))
      return Effect.gen(function*() {
        const found = yield* runSearch({ ...plan, k: depth })
        let hits = found.hits
        if (plan.reranker !== null && reranker) hits = yield* rerankHits(reranker, plan.query, hits)
        if (plan.recency !== null) hits = boostByRecency(hits, plan.recency)
        return { hits: hits.slice(0, plan.k), validUntil: found.validUntil }
      })
    }

    // The hottest path: one span made and ended by hand (handSpan), its statistics counted when it
    // ends, and no call-site stack capture (Effect.fn, useSpan and observe cost more per call).
    type SearchFailure = Effect.Effect.Error<ReturnType<typeof rankedSearch>>
    const computed = (plan: SearchPlan, key: string, attributes: Record<string, unknown>, started: number) =>
      Effect.withFiberRuntime<SearchResponse, SearchFailure>((fiber) => {
        const span = HandSpan.start(fiber, "Memory.search", attributes)
        const compute = Effect.map(rankedSearch(plan), ({ hits, validUntil }) => ({ hits: hits.map(toHit), validUntil }))
        // The cache never answers past validUntil: an answer holding a record that has expired is computed again.
        const answer = Effect.map(cache.searches.getOrCompute(plan.selector.namespace, key, compute), ({ hit, value: { hits } }) => {
          span?.attribute("memory.cache_hit", hit)
          span?.attribute("memory.results", hits.length)
          return trusted(SearchResponse, { hits, cached: hit, tookMs: performance.now() - started })
        })
        return Effect.onExit(span === undefined ? answer : HandSpan.withParent(fiber, span, answer), (exit) => {
          HandSpan.end(fiber, span, exit)
          stats.recordEnded(fiber, plan.mode, exit, performance.now() - started)
          return Effect.void
        })
      })

    /**
     * A hit in the in-process cache, answered now from the hits built when it was computed, in
     * its own span, counted as a computed search is: `fiber` gives the tracer, the parent span
     * and the metric labels (no fiber of its own, no child spans, no FiberRef copies).
     */
    const answerNow = (
      fiber: AnyFiber,
      plan: SearchPlan,
      hits: ReadonlyArray<SearchHit>,
      attributes: Record<string, unknown>,
      started: number
    ): SearchResponse => {
      const span = HandSpan.start(fiber, "Memory.search", attributes)
      span?.attribute("memory.cache_hit", true)
      span?.attribute("memory.results", hits.length)
      const tookMs = performance.now() - started
      stats.recordAnswered(fiber, plan.mode, true, tookMs)
      const response = trusted(SearchResponse, { hits, cached: true, tookMs })
      HandSpan.end(fiber, span, Exit.succeed(response))
      return response
    }

    const answered = (plan: SearchPlan, hits: ReadonlyArray<SearchHit>, attributes: Record<string, unknown>, started: number) =>
      Effect.withFiberRuntime<SearchResponse>((fiber) => Exit.succeed(answerNow(fiber, plan, hits, attributes, started)))

    /** What a search is (its plan), its cache key and its span's attributes: all of it decided by the request. */
    const decided = (request: SearchRequest): PlannedSearch => {
      const plan = planSearch(request, embedder, reranker)
      return {
        plan,
        key: searchKey(plan),
        attributes: { "memory.namespace": plan.selector.namespace, "memory.k": plan.k, "memory.mode": plan.mode, "memory.store": store.provider }
      }
    }

    const { peek, peekShared } = cache.searches
    const search = (request: SearchRequest) =>
      Effect.suspend((): ReturnType<typeof computed> => {
        const started = performance.now()
        const { attributes, key, plan } = decided(request)
        const namespace = plan.selector.namespace
        if (peek !== undefined) {
          const found = peek(namespace, key)
          return found === undefined ? computed(plan, key, attributes, started) : answered(plan, found.hits, attributes, started)
        }
        // A shared L2: the in-process hit once Redis confirms its generation, without the lookup's spans and steps.
        if (peekShared !== undefined) {
          return Effect.flatMap(
            Effect.promise(() => peekShared(namespace, key)),
            (found) => found === undefined ? computed(plan, key, attributes, started) : answered(plan, found.hits, attributes, started)
          )
        }
        return computed(plan, key, attributes, started)
      })

    /**
     * `search`'s answer when the in-process cache holds it (span and statistics included), else
     * undefined and nothing counted: for callers that answer hits without a fiber of their own (the
     * HTTP fast path, which keeps a request's plan for the next time the same body comes).
     * Synchronous when the cache can tell without I/O; with a Redis L2 (which holds the
     * generation) a promise of one round trip.
     */
    const cachedSearch = peek === undefined && peekShared === undefined ? undefined : {
      plan: decided,
      answer: (planned: PlannedSearch, fiber: AnyFiber): SearchResponse | undefined | Promise<SearchResponse | undefined> => {
        const started = performance.now()
        const { attributes, key, plan } = planned
        const answer = (found: CachedSearch | undefined) => found === undefined ? undefined : answerNow(fiber, plan, found.hits, attributes, started)
        return peek !== undefined ? answer(peek(plan.selector.namespace, key)) : peekShared!(plan.selector.namespace, key).then(answer)
      }
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
      const updated = yield* cache.writing([namespace], store.update(namespace, id, {
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
      }), Option.isSome)
      if (Option.isNone(updated)) return yield* MemoryNotFound.of(namespace, id)
      return updated.value
    })

    const remove = Effect.fn("Memory.delete")(function*(id: string, namespace: string = DEFAULT_NAMESPACE) {
      const deleted = yield* cache.writing([namespace], store.delete(namespace, id), (d) => d)
      if (!deleted) return yield* MemoryNotFound.of(namespace, id)
    })

    const deleteWhere = Effect.fn("Memory.deleteWhere")(function*(selection: Selection) {
      const target = selector(selection)
      const deleted = yield* cache.writing([target.namespace], store.deleteWhere(target), (n) => n > 0)
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
          kind: "knowledge",
          content: chunk.text,
          tags: request.tags,
          metadata: { ...described, position: chunk.position }
        }, { namespace }, embedder, now)
      }))
      // Re-ingesting a document replaces its chunks, atomically.
      const outcomes = yield* cache.writing(
        [namespace],
        store.replace({ namespace, kinds: ["knowledge"], filter: filterTree({ documentId }) }, records)
      )
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
        metadata: { ...request.metadata, role: request.role },
        occurredAt: request.occurredAt
      } as StoreMemoryRequest)
      return toMessage(stored)
    })

    /** The latest messages of a session (in the window, if given), oldest first: by when they were said. */
    const history = Effect.fn("Memory.history")(function*(sessionId: string, options: HistoryOptions = {}) {
      const records = yield* store.list(
        { namespace: options.namespace ?? DEFAULT_NAMESPACE, sessionId, kinds: ["message"], since: options.since, until: options.until },
        { limit: options.limit ?? 50, newestFirst: true }
      )
      return new History({ sessionId, messages: records.map(toMessage).reverse() }, true)
    })

    const clearSession = Effect.fn("Memory.clearSession")(function*(sessionId: string, namespace: string = DEFAULT_NAMESPACE) {
      return yield* deleteWhere({ namespace, sessionId, kinds: ["message"] })
    })

    /**
     * A prompt context: the session's latest turns, and memories, knowledge and earlier turns
     * found by the query (hybrid), as many as the budget holds. The first searches ask for about
     * maxTokens / TOKENS_PER_HIT hits each; a section whose every hit fitted asks again, deeper,
     * while the text is short of the budget.
     */
    const context = Effect.fn("Memory.context")(function*(request: ContextRequest) {
      const namespace = request.namespace ?? DEFAULT_NAMESPACE
      const maxTokens = request.maxTokens ?? DEFAULT_MAX_TOKENS
      const scope = request.searchMessages ?? "namespace"
      const messagesIn = scope === "none" || (scope === "session" && request.sessionId === undefined)
        ? null
        : { sessionId: scope === "session" ? request.sessionId : undefined }
      const none = Effect.succeed({ hits: [] as ReadonlyArray<SearchHit> })
      const ask = (kinds: ReadonlyArray<MemoryKind>, k: number, weight: number, sessionId?: string) =>
        weight === 0 ? none : search(
          new SearchRequest({
            query: request.query,
            namespace,
            k,
            mode: "hybrid",
            kinds,
            minScore: request.minScore,
            sessionId,
            since: request.since,
            until: request.until
          }, true)
        )
      const historyLimit = request.historyLimit ?? DEFAULT_HISTORY_LIMIT
      const [past, encoder] = yield* Effect.all([
        request.sessionId === undefined || historyLimit === 0
          ? Effect.succeed(undefined)
          : history(request.sessionId, { namespace, limit: historyLimit, since: request.since, until: request.until }),
        Effect.promise(() => tokenizer(settings.tokenizer))
      ], { concurrency: "unbounded" })
      const first = Math.min(MAX_K, Math.max(10, Math.ceil(maxTokens / TOKENS_PER_HIT)))
      const depth = { memories: first, knowledge: first, earlier: first }
      const now = new Date()
      for (let round = 0;; round++) {
        const [memories, knowledge, earlier] = yield* Effect.all([
          ask(["memory"], depth.memories, request.personalWeight ?? DEFAULT_PERSONAL_WEIGHT),
          ask(["knowledge"], depth.knowledge, request.knowledgeWeight ?? DEFAULT_KNOWLEDGE_WEIGHT),
          messagesIn === null ? none : ask(["message"], depth.earlier, request.conversationWeight ?? DEFAULT_CONVERSATION_WEIGHT, messagesIn.sessionId)
        ], { concurrency: "unbounded" })
        const built = buildContext(request, {
          memories: memories.hits,
          knowledge: knowledge.hits,
          history: past?.messages ?? [],
          earlier: earlier.hits.map(hitToMessage),
          now
        }, encoder)
        const found = { memories: memories.hits.length, knowledge: knowledge.hits.length, earlier: earlier.hits.length }
        const deeper = (["memories", "knowledge", "earlier"] as const).filter((s) =>
          built.exhausted[s] && found[s] === depth[s] && depth[s] < MAX_K
        )
        if (round >= 2 || deeper.length === 0 || built.tokenCount >= maxTokens * 0.95) {
          yield* Effect.annotateCurrentSpan({ "memory.tokens": built.tokenCount, "memory.items": built.items.length, "memory.rounds": round + 1 })
          const { exhausted: _, ...response } = built
          return new ContextResponse(response, true)
        }
        for (const s of deeper) depth[s] = Math.min(MAX_K, depth[s] * 2)
      }
    })

    // Failures counted per operation (searches are counted by SearchStats).
    const { counted } = Metrics
    return {
      store: counted("store", storeMemory),
      storeMany: <E>(items: Stream.Stream<IngestItem, E>, defaults?: IngestDefaults) =>
        Metrics.countErrors("storeMany")(storeMany(items, defaults)),
      search,
      cachedSearch,
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
