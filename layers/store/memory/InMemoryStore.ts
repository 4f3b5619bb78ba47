/**
 * The `memory` store: records in process memory with exact (brute-force)
 * cosine search over Float32Array and BM25 keyword search ranked as the SQL
 * stores rank it. For tests and small sets; nothing survives a restart. Every operation
 * runs synchronously, so each is atomic.
 */
import { Effect, Layer, Option } from "effect"
import { DimensionMismatch, DuplicateContent, IdConflict } from "../../../src/domain/errors.ts"
import { dedupScope } from "../../../src/domain/DedupScope.ts"
import { matches } from "../../../src/domain/Filter.ts"
import { MemoryRecord } from "../../../src/domain/Memory.ts"
import * as Bm25 from "../Bm25.ts"
import { englishTerms } from "./EnglishTerms.ts"
import {
  type InsertOutcome,
  type KvEntry,
  MemoryStore,
  type MemoryStoreService,
  type NewRecord,
  type RecordSelector,
  type ScoredRecord
} from "../../../src/ports/MemoryStore.ts"

interface Entry {
  readonly record: MemoryRecord
  readonly embedding: Float32Array
  readonly norm: number
  /** The content's terms and their frequencies, for keyword search. */
  readonly terms: Map<string, number>
}

interface Space {
  readonly byId: Map<string, Entry>
  /** kind, dedup scope and hash → id, for dedup. */
  readonly byContent: Map<string, string>
  readonly kv: Map<string, KvEntry>
}

export interface InMemoryStoreOptions {
  readonly dimensions: number
}

const norm = (v: Float32Array) => {
  let sum = 0
  for (let i = 0; i < v.length; i++) sum += v[i]! * v[i]!
  return Math.sqrt(sum)
}

const dedupKey = (record: MemoryRecord) => `${record.kind}\u0000${dedupScope(record.metadata)}\u0000${record.contentHash}`

/** A record's time, as the SQL stores' RECORD_TIME: when it happened if the caller said, else when stored. */
const recordTime = (record: MemoryRecord) => (record.occurredAt ?? record.createdAt).getTime()

const entryOf = (record: MemoryRecord, embedding: Float32Array): Entry => ({
  record,
  embedding,
  norm: norm(embedding),
  terms: englishTerms(record.content)
})

export const make = (options: InMemoryStoreOptions): MemoryStoreService => {
  const { dimensions } = options
  const spaces = new Map<string, Space>()
  const space = (namespace: string) => {
    let s = spaces.get(namespace)
    if (!s) spaces.set(namespace, (s = { byId: new Map(), byContent: new Map(), kv: new Map() }))
    return s
  }
  const live = (expiresAt: Date | null, now: number) => expiresAt === null || expiresAt.getTime() > now
  const drop = (namespace: string, id: string) => {
    const s = space(namespace)
    const entry = s.byId.get(id)
    if (!entry) return false
    s.byId.delete(id)
    if (s.byContent.get(dedupKey(entry.record)) === id) s.byContent.delete(dedupKey(entry.record))
    return true
  }
  const selects = (selector: RecordSelector, now: number) => (entry: Entry) => {
    const r = entry.record
    if (!live(r.expiresAt, now)) return false
    if (selector.kinds && selector.kinds.length > 0 && !selector.kinds.includes(r.kind)) return false
    if (selector.sessionId !== undefined && r.sessionId !== selector.sessionId) return false
    if (selector.since !== undefined && recordTime(r) < selector.since.getTime()) return false
    if (selector.until !== undefined && recordTime(r) > selector.until.getTime()) return false
    if (selector.tags && selector.tags.length > 0) {
      const has = (t: string) => r.tags.includes(t)
      if (selector.tagMatch === "any" ? !selector.tags.some(has) : !selector.tags.every(has)) return false
    }
    return !selector.filter || matches(r.metadata, selector.filter)
  }
  const selected = (selector: RecordSelector) => {
    const now = Date.now()
    return [...(spaces.get(selector.namespace)?.byId.values() ?? [])].filter(selects(selector, now))
  }
  const checkWidth = (vector: Float32Array, where: string) =>
    vector.length === dimensions ? undefined : DimensionMismatch.of(dimensions, vector.length, where)

  /** Plans every item first, so that a conflict stores nothing; `removing` are ids deleted in the same step. */
  const write = (items: ReadonlyArray<NewRecord>, removing: ReadonlySet<string>) =>
    Effect.suspend((): Effect.Effect<Array<InsertOutcome>, DimensionMismatch | IdConflict> => {
      const now = Date.now()
      for (const { embedding } of items) {
        const mismatch = checkWidth(embedding, "insert")
        if (mismatch) return Effect.fail(mismatch)
      }
      const staged = new Map<string, Entry>()
      const stagedContent = new Map<string, string>()
      const outcomes: Array<InsertOutcome> = []
      const existing = (namespace: string, id: string) => {
        const entry = removing.has(`${namespace}\u0000${id}`) ? undefined : space(namespace).byId.get(id)
        return entry && live(entry.record.expiresAt, now) ? entry : undefined
      }
      for (const { embedding, record } of items) {
        const key = `${record.namespace}\u0000${record.id}`
        if (record.kind !== "message") {
          const contentKey = `${record.namespace}\u0000${dedupKey(record)}`
          const sameId = stagedContent.get(contentKey) ?? space(record.namespace).byContent.get(dedupKey(record))
          const same = sameId === undefined
            ? undefined
            : staged.get(`${record.namespace}\u0000${sameId}`) ?? existing(record.namespace, sameId)
          if (same) {
            outcomes.push({ record: same.record, deduplicated: true })
            continue
          }
        }
        if (staged.has(key) || existing(record.namespace, record.id)) return Effect.fail(IdConflict.of(record.namespace, record.id))
        staged.set(key, entryOf(record, embedding))
        if (record.kind !== "message") stagedContent.set(`${record.namespace}\u0000${dedupKey(record)}`, record.id)
        outcomes.push({ record, deduplicated: false })
      }
      for (const key of removing) {
        const [namespace, id] = key.split("\u0000") as [string, string]
        drop(namespace, id)
      }
      for (const entry of staged.values()) {
        drop(entry.record.namespace, entry.record.id)
        // An expired record holding the same content goes, as in the SQL stores (it no longer counts in keyword statistics).
        const holder = entry.record.kind === "message" ? undefined : space(entry.record.namespace).byContent.get(dedupKey(entry.record))
        if (holder !== undefined && holder !== entry.record.id) drop(entry.record.namespace, holder)
        space(entry.record.namespace).byId.set(entry.record.id, entry)
        if (entry.record.kind !== "message") space(entry.record.namespace).byContent.set(dedupKey(entry.record), entry.record.id)
      }
      return Effect.succeed(outcomes)
    })

  const update: MemoryStoreService["update"] = (namespace, id, patch) =>
    Effect.suspend((): Effect.Effect<Option.Option<MemoryRecord>, DuplicateContent | DimensionMismatch> => {
      const s = space(namespace)
      const entry = s.byId.get(id)
      if (!entry || !live(entry.record.expiresAt, Date.now())) return Effect.succeed(Option.none())
      if (patch.content) {
        const mismatch = checkWidth(patch.content.embedding, "update")
        if (mismatch) return Effect.fail(mismatch)
      }
      const r = entry.record
      const record = new MemoryRecord({
        ...r,
        kind: patch.kind ?? r.kind,
        content: patch.content?.text ?? r.content,
        contentHash: patch.content?.hash ?? r.contentHash,
        embeddingModel: patch.content?.model ?? r.embeddingModel,
        tags: patch.tags ?? r.tags,
        metadata: patch.metadata ?? r.metadata,
        expiresAt: patch.expiresAt === undefined ? r.expiresAt : patch.expiresAt,
        updatedAt: patch.updatedAt
      }, true)
      if (record.kind !== "message") {
        const holder = s.byContent.get(dedupKey(record))
        if (holder !== undefined && holder !== id && s.byId.has(holder)) return Effect.fail(DuplicateContent.of(id, holder))
      }
      const embedding = patch.content?.embedding ?? entry.embedding
      drop(namespace, id)
      s.byId.set(id, patch.content ? entryOf(record, embedding) : { ...entry, record })
      if (record.kind !== "message") s.byContent.set(dedupKey(record), id)
      return Effect.succeed(Option.some(record))
    })

  const search: MemoryStoreService["search"] = (query) =>
    Effect.suspend(() => {
      const mismatch = checkWidth(query.embedding, "search")
      if (mismatch) return Effect.fail(mismatch)
      const q = query.embedding
      const qNorm = norm(q)
      const hits: Array<ScoredRecord> = []
      for (const entry of selected(query)) {
        let dot = 0
        for (let i = 0; i < q.length; i++) dot += q[i]! * entry.embedding[i]!
        const similarity = qNorm === 0 || entry.norm === 0 ? 0 : dot / (qNorm * entry.norm)
        const score = Math.min(1, Math.max(0, similarity))
        if (score >= query.minScore) hits.push({ record: entry.record, score })
      }
      return Effect.succeed(hits.sort((a, b) => b.score - a.score).slice(0, query.k))
    })

  /**
   * BM25 with the SQL stores' parameters and statistics: document frequencies
   * and the average length over the whole namespace (expired records included
   * until the sweep removes them, as the SQL stores' triggers count them), the
   * same tie-break (newer first, then id).
   */
  const keywordSearch: MemoryStoreService["keywordSearch"] = (query) =>
    Effect.sync(() => {
      const all = [...(spaces.get(query.namespace)?.byId.values() ?? [])]
      if (all.length === 0) return []
      const queryTerms = [...englishTerms(query.text).keys()]
      const df = new Map<string, number>()
      let lengths = 0
      for (const entry of all) {
        lengths += entry.terms.size
        for (const t of queryTerms) if (entry.terms.has(t)) df.set(t, (df.get(t) ?? 0) + 1)
      }
      const terms = [...df].map(([term, n]) => ({ term, df: n, idf: Bm25.idf(all.length, n) }))
        .sort((a, b) => a.df - b.df || (a.term < b.term ? -1 : 1))
        .slice(0, Bm25.MAX_QUERY_TERMS)
      if (terms.length === 0) return []
      const averageLength = Math.max(1, lengths / all.length)
      const scale = Bm25.normaliser(terms)
      const hits: Array<ScoredRecord> = []
      for (const entry of all.filter(selects(query, Date.now()))) {
        let score = 0
        for (const t of terms) {
          const tf = entry.terms.get(t.term)
          if (tf !== undefined) score += Bm25.termScore(t.idf, tf, entry.terms.size, averageLength)
        }
        if (score > 0) hits.push({ record: entry.record, score: score / scale })
      }
      return hits
        // Ties by id, as the SQL stores order them.
        .sort((a, b) => b.score - a.score || (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0))
        .slice(0, query.k)
    })

  const kvLive = (namespace: string, key: string) => {
    const entry = spaces.get(namespace)?.kv.get(key)
    return entry && live(entry.expiresAt, Date.now()) ? entry : undefined
  }

  return {
    provider: "memory",
    dimensions,
    insert: (items) => write(items, new Set()),
    replace: (selector, items) =>
      Effect.suspend(() => write(items, new Set(selected(selector).map((e) => `${selector.namespace}\u0000${e.record.id}`)))),
    update,
    get: (namespace, id) =>
      Effect.sync(() => {
        const entry = spaces.get(namespace)?.byId.get(id)
        return entry && live(entry.record.expiresAt, Date.now()) ? Option.some(entry.record) : Option.none()
      }),
    delete: (namespace, id) => Effect.sync(() => drop(namespace, id)),
    deleteWhere: (selector) => Effect.sync(() => selected(selector).filter((e) => drop(selector.namespace, e.record.id)).length),
    list: (selector, { limit, newestFirst }) =>
      Effect.sync(() =>
        selected(selector)
          .map((e) => e.record)
          .sort((a, b) =>
            (recordTime(a) - recordTime(b) || a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0)) *
            (newestFirst ? -1 : 1)
          )
          .slice(0, limit)
      ),
    search,
    keywordSearch,
    deleteExpired: Effect.sync(() => {
      const now = Date.now()
      let deleted = 0
      for (const [namespace, s] of spaces) {
        for (const entry of [...s.byId.values()]) if (!live(entry.record.expiresAt, now) && drop(namespace, entry.record.id)) deleted++
        for (const [key, entry] of [...s.kv]) if (!live(entry.expiresAt, now) && s.kv.delete(key)) deleted++
      }
      return deleted
    }),
    kvGet: (namespace, key) => Effect.sync(() => Option.fromNullable(kvLive(namespace, key))),
    kvSet: (namespace, key, value, expiresAt) =>
      Effect.sync(() => {
        const now = new Date()
        const entry: KvEntry = { namespace, key, value, createdAt: kvLive(namespace, key)?.createdAt ?? now, updatedAt: now, expiresAt }
        space(namespace).kv.set(key, entry)
        return entry
      }),
    kvDelete: (namespace, key) =>
      Effect.sync(() => {
        const existed = kvLive(namespace, key) !== undefined
        spaces.get(namespace)?.kv.delete(key)
        return existed
      }),
    ping: Effect.void
  }
}

export const layer = (options: InMemoryStoreOptions) => Layer.sync(MemoryStore, () => make(options))
