/**
 * The `memory` store: records in process memory with exact (brute-force)
 * cosine search over Float32Array. For tests and small sets; nothing survives
 * a restart. Every operation runs synchronously, so each is atomic.
 */
import { Effect, Layer, Option } from "effect"
import { DimensionMismatch, IdConflict } from "../../../src/domain/errors.ts"
import { matchesFilter } from "../../../src/domain/Filter.ts"
import type { MemoryRecord } from "../../../src/domain/Memory.ts"
import { MemoryStore, type InsertOutcome, type MemoryStoreService, type ScoredRecord } from "../../../src/ports/MemoryStore.ts"

interface Entry {
  readonly record: MemoryRecord
  readonly embedding: Float32Array
  readonly norm: number
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

export const make = (options: InMemoryStoreOptions): MemoryStoreService => {
  const { dimensions } = options
  const namespaces = new Map<string, { readonly byId: Map<string, Entry>; readonly byContent: Map<string, string> }>()
  const space = (namespace: string) => {
    let s = namespaces.get(namespace)
    if (!s) namespaces.set(namespace, (s = { byId: new Map(), byContent: new Map() }))
    return s
  }
  const live = (entry: Entry | undefined, now: number) =>
    entry !== undefined && (entry.record.expiresAt === null || entry.record.expiresAt.getTime() > now)
  const drop = (namespace: string, id: string) => {
    const s = space(namespace)
    const entry = s.byId.get(id)
    if (!entry) return false
    s.byId.delete(id)
    if (s.byContent.get(dedupKey(entry.record)) === id) s.byContent.delete(dedupKey(entry.record))
    return true
  }

  const insert: MemoryStoreService["insert"] = (items) =>
    Effect.suspend((): Effect.Effect<Array<InsertOutcome>, DimensionMismatch | IdConflict> => {
      const now = Date.now()
      for (const { embedding } of items) {
        if (embedding.length !== dimensions) return Effect.fail(DimensionMismatch.of(dimensions, embedding.length, "insert"))
      }
      // Plan every item first, so that a conflict stores nothing.
      const staged = new Map<string, Entry>()
      const stagedContent = new Map<string, string>()
      const outcomes: Array<InsertOutcome> = []
      for (const { embedding, record } of items) {
        const s = space(record.namespace)
        const key = `${record.namespace}\u0000${record.id}`
        const contentKey = `${record.namespace}\u0000${dedupKey(record)}`
        if (record.kind !== "message") {
          const sameId = stagedContent.get(contentKey) ?? s.byContent.get(dedupKey(record))
          const same = sameId === undefined ? undefined : staged.get(`${record.namespace}\u0000${sameId}`) ?? s.byId.get(sameId)
          if (same && live(same, now)) {
            outcomes.push({ record: same.record, deduplicated: true })
            continue
          }
        }
        const taken = staged.get(key) ?? s.byId.get(record.id)
        if (taken && live(taken, now)) return Effect.fail(IdConflict.of(record.namespace, record.id))
        staged.set(key, { record, embedding, norm: norm(embedding) })
        if (record.kind !== "message") stagedContent.set(contentKey, record.id)
        outcomes.push({ record, deduplicated: false })
      }
      for (const entry of staged.values()) {
        const s = space(entry.record.namespace)
        drop(entry.record.namespace, entry.record.id)
        s.byId.set(entry.record.id, entry)
        if (entry.record.kind !== "message") s.byContent.set(dedupKey(entry.record), entry.record.id)
      }
      return Effect.succeed(outcomes)
    })

  const get: MemoryStoreService["get"] = (namespace, id) =>
    Effect.sync(() => {
      const entry = namespaces.get(namespace)?.byId.get(id)
      return live(entry, Date.now()) ? Option.some(entry!.record) : Option.none()
    })

  const search: MemoryStoreService["search"] = (query) =>
    Effect.suspend(() => {
      if (query.embedding.length !== dimensions) {
        return Effect.fail(DimensionMismatch.of(dimensions, query.embedding.length, "search"))
      }
      const now = Date.now()
      const q = query.embedding
      const qNorm = norm(q)
      const hits: Array<ScoredRecord> = []
      for (const entry of namespaces.get(query.namespace)?.byId.values() ?? []) {
        const r = entry.record
        if (!live(entry, now)) continue
        if (query.kinds && query.kinds.length > 0 && !query.kinds.includes(r.kind)) continue
        if (query.sessionId !== undefined && r.sessionId !== query.sessionId) continue
        if (query.tags && !query.tags.every((t) => r.tags.includes(t))) continue
        if (query.filter && !matchesFilter(r.metadata, query.filter)) continue
        let dot = 0
        for (let i = 0; i < q.length; i++) dot += q[i]! * entry.embedding[i]!
        const similarity = qNorm === 0 || entry.norm === 0 ? 0 : dot / (qNorm * entry.norm)
        const score = Math.min(1, Math.max(0, similarity))
        if (score >= query.minScore) hits.push({ record: r, score })
      }
      return Effect.succeed(hits.sort((a, b) => b.score - a.score).slice(0, query.k))
    })

  return {
    provider: "memory",
    dimensions,
    insert,
    get,
    delete: (namespace, id) => Effect.sync(() => drop(namespace, id)),
    search,
    ping: Effect.void
  }
}

export const layer = (options: InMemoryStoreOptions) => Layer.sync(MemoryStore, () => make(options))
