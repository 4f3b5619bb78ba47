/**
 * The `memory` store: records in process memory with exact (brute-force)
 * cosine search over Float32Array and a small word-match ranking for keyword
 * search. For tests and small sets; nothing survives a restart. Every operation
 * runs synchronously, so each is atomic.
 */
import { Effect, Layer, Option } from "effect"
import { DimensionMismatch, DuplicateContent, IdConflict } from "../../../src/domain/errors.ts"
import { matches } from "../../../src/domain/Filter.ts"
import { MemoryRecord } from "../../../src/domain/Memory.ts"
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
}

interface Space {
  readonly byId: Map<string, Entry>
  /** `kind:hash` → id, for dedup. */
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

const dedupKey = (record: MemoryRecord) => `${record.kind}:${record.contentHash}`
const words = (text: string) => text.toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []

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
        staged.set(key, { record, embedding, norm: norm(embedding) })
        if (record.kind !== "message") stagedContent.set(`${record.namespace}\u0000${dedupKey(record)}`, record.id)
        outcomes.push({ record, deduplicated: false })
      }
      for (const key of removing) {
        const [namespace, id] = key.split("\u0000") as [string, string]
        drop(namespace, id)
      }
      for (const entry of staged.values()) {
        drop(entry.record.namespace, entry.record.id)
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
      s.byId.set(id, { record, embedding, norm: norm(embedding) })
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

  /** Words weighed by rarity among the selected records (BM25's idf), as the SQL stores do. */
  const keywordSearch: MemoryStoreService["keywordSearch"] = (query) =>
    Effect.sync(() => {
      const terms = [...new Set(words(query.text))].slice(0, 32)
      const docs = selected(query).map((entry) => ({ entry, words: new Set(words(entry.record.content)) }))
      const n = Math.max(1, docs.length)
      const idf = terms.map((t) => {
        const df = docs.filter((d) => d.words.has(t)).length
        return Math.log(1 + (n - df + 0.5) / (df + 0.5))
      })
      const totalWeight = idf.reduce((a, b) => a + b, 0)
      const hits: Array<ScoredRecord> = []
      for (const { entry, words: present } of docs) {
        const weight = terms.reduce((sum, t, i) => (present.has(t) ? sum + idf[i]! : sum), 0)
        if (weight > 0) hits.push({ record: entry.record, score: weight / totalWeight })
      }
      return hits
        .sort((a, b) => b.score - a.score || b.record.createdAt.getTime() - a.record.createdAt.getTime())
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
          .sort((a, b) => (a.createdAt.getTime() - b.createdAt.getTime()) * (newestFirst ? -1 : 1))
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
