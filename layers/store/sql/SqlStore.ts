/**
 * The Store port over any @effect/sql PostgreSQL client with pgvector: the
 * `pgvector` provider (a server through @effect/sql-pg) and the `pglite`
 * provider (embedded) both use this, with the same SQL.
 */
import { SqlClient, type SqlError } from "@effect/sql"
import { Effect, Option } from "effect"
import { DimensionMismatch, IdConflict, StoreUnavailable } from "../../../src/domain/errors.ts"
import { toContainment } from "../../../src/domain/Filter.ts"
import { MemoryRecord, type MemoryKind } from "../../../src/domain/Memory.ts"
import type { InsertOutcome, MemoryStoreService, NewRecord, ScoredRecord, VectorQuery } from "../../../src/ports/MemoryStore.ts"
import { textArrayLiteral } from "./pgText.ts"
import type { VectorType } from "./SqlStoreConfig.ts"

export interface SqlStoreOptions {
  readonly provider: string
  readonly dimensions: number
  readonly vectorType: VectorType
  /** How a vector travels as a parameter: binary for a server, text for PGlite. */
  readonly encodeVector: (vector: Float32Array) => unknown
}

interface Row {
  readonly namespace: string
  readonly id: string
  readonly kind: MemoryKind
  readonly content: string
  readonly content_hash: string
  readonly tags: ReadonlyArray<string>
  readonly metadata: Record<string, unknown>
  readonly session_id: string | null
  readonly embedding_model: string
  readonly created_at: Date
  readonly updated_at: Date
  readonly expires_at: Date | null
}

const COLUMNS = "namespace, id, kind, content, content_hash, tags, metadata, session_id, embedding_model, created_at, updated_at, expires_at"

const failed = (what: string) => (error: SqlError.SqlError) =>
  new StoreUnavailable({ message: `${what}: ${error.cause instanceof Error ? error.cause.message : error.message}` })

export const make = (options: SqlStoreOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { dimensions } = options
    const columns = sql.literal(COLUMNS)
    const vectorParam = (vector: Float32Array) =>
      options.vectorType === "halfvec"
        ? sql`${options.encodeVector(vector)}::vector::halfvec`
        : sql`${options.encodeVector(vector)}::vector`

    // Trusted rows from our own table: skip re-validation on the hot path.
    const toRecord = (row: Row): MemoryRecord =>
      new MemoryRecord({
        id: row.id,
        namespace: row.namespace,
        kind: row.kind,
        content: row.content,
        contentHash: row.content_hash,
        tags: row.tags,
        metadata: row.metadata,
        sessionId: row.session_id,
        createdAt: row.created_at,
        updatedAt: row.updated_at,
        expiresAt: row.expires_at,
        embeddingModel: row.embedding_model,
        embeddingDimensions: dimensions
      }, true)

    const checkWidth = (vector: Float32Array, where: string) =>
      vector.length === dimensions ? Effect.void : Effect.fail(DimensionMismatch.of(dimensions, vector.length, where))

    const insertNamespace = (namespace: string, items: ReadonlyArray<NewRecord>) =>
      Effect.gen(function*() {
        const ids = items.map((i) => i.record.id)
        const hashes = items.map((i) => i.record.contentHash)
        // An expired record must not block its id or its content from being stored again.
        yield* sql`DELETE FROM memories WHERE namespace = ${namespace} AND expires_at <= now()
          AND (id = ANY(${textArrayLiteral(ids)}::text[]) OR content_hash = ANY(${textArrayLiteral(hashes)}::text[]))`
        const values = items.map(({ embedding, record: r }) =>
          sql`(${r.namespace}, ${r.id}, ${r.kind}, ${r.content}, ${r.contentHash}, ${textArrayLiteral(r.tags)}::text[],
            ${JSON.stringify(r.metadata)}::jsonb, ${r.sessionId}, ${vectorParam(embedding)}, ${r.embeddingModel},
            ${r.createdAt}, ${r.updatedAt}, ${r.expiresAt})`
        )
        const inserted = yield* sql<Row>`INSERT INTO memories (namespace, id, kind, content, content_hash, tags, metadata,
            session_id, embedding, embedding_model, created_at, updated_at, expires_at)
          VALUES ${sql.csv(values)} ON CONFLICT DO NOTHING RETURNING ${columns}`
        const byId = new Map(inserted.map((row) => [row.id, row]))
        const skipped = items.filter((i) => !byId.has(i.record.id))
        const existing = skipped.length === 0 ? [] : yield* sql<Row>`SELECT ${columns} FROM memories
          WHERE namespace = ${namespace} AND kind <> 'message' AND content_hash = ANY(${textArrayLiteral(skipped.map((i) => i.record.contentHash))}::text[])`
        const byHash = new Map(existing.map((row) => [`${row.kind}:${row.content_hash}`, row]))
        const outcomes: Array<InsertOutcome> = []
        const claimed = new Set<string>()
        for (const { record } of items) {
          const mine = byId.get(record.id)
          // The row inserted under this id belongs to the first item that matches it (an id can repeat in a batch).
          if (mine && !claimed.has(mine.id) && mine.content_hash === record.contentHash && mine.kind === record.kind) {
            claimed.add(mine.id)
            outcomes.push({ record: toRecord(mine), deduplicated: false })
            continue
          }
          const same = record.kind === "message"
            ? undefined
            : byHash.get(`${record.kind}:${record.contentHash}`) ??
              (mine && mine.content_hash === record.contentHash && mine.kind === record.kind ? mine : undefined)
          if (!same) return yield* IdConflict.of(namespace, record.id)
          outcomes.push({ record: toRecord(same), deduplicated: true })
        }
        return outcomes
      })

    const insert: MemoryStoreService["insert"] = (items) =>
      Effect.gen(function*() {
        if (items.length === 0) return []
        for (const item of items) yield* checkWidth(item.embedding, "insert")
        const groups = new Map<string, Array<NewRecord>>()
        for (const item of items) {
          const group = groups.get(item.record.namespace)
          if (group) group.push(item)
          else groups.set(item.record.namespace, [item])
        }
        const byItem = new Map<NewRecord, InsertOutcome>()
        for (const [namespace, group] of groups) {
          const outcomes = yield* insertNamespace(namespace, group)
          group.forEach((item, i) => byItem.set(item, outcomes[i]!))
        }
        return items.map((item) => byItem.get(item)!)
      }).pipe(
        sql.withTransaction,
        Effect.catchTag("SqlError", (e) => Effect.fail(failed("insert failed")(e))),
        Effect.withSpan("MemoryStore.insert", { attributes: { "memory.store": options.provider, "memory.count": items.length } })
      )

    const get: MemoryStoreService["get"] = (namespace, id) =>
      sql<Row>`SELECT ${columns} FROM memories
        WHERE namespace = ${namespace} AND id = ${id} AND (expires_at IS NULL OR expires_at > now())`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toRecord)),
        Effect.mapError(failed("get failed")),
        Effect.withSpan("MemoryStore.get", { attributes: { "memory.store": options.provider } })
      )

    const remove: MemoryStoreService["delete"] = (namespace, id) =>
      sql`DELETE FROM memories WHERE namespace = ${namespace} AND id = ${id} RETURNING id`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(failed("delete failed")),
        Effect.withSpan("MemoryStore.delete", { attributes: { "memory.store": options.provider } })
      )

    const search: MemoryStoreService["search"] = (query: VectorQuery) =>
      Effect.gen(function*() {
        yield* checkWidth(query.embedding, "search")
        const conditions = [sql`namespace = ${query.namespace}`, sql`(expires_at IS NULL OR expires_at > now())`]
        if (query.kinds && query.kinds.length > 0) conditions.push(sql`kind IN ${sql.in(query.kinds)}`)
        if (query.tags && query.tags.length > 0) conditions.push(sql`tags @> ${textArrayLiteral(query.tags)}::text[]`)
        if (query.sessionId !== undefined) conditions.push(sql`session_id = ${query.sessionId}`)
        if (query.filter && Object.keys(query.filter).length > 0) {
          conditions.push(sql`metadata @> ${JSON.stringify(toContainment(query.filter))}::jsonb`)
        }
        const rows = yield* sql<Row & { readonly distance: number }>`
          SELECT ${columns}, embedding <=> ${vectorParam(query.embedding)} AS distance
          FROM memories WHERE ${sql.and(conditions)}
          ORDER BY distance LIMIT ${query.k}`.pipe(Effect.mapError(failed("search failed")))
        const hits: Array<ScoredRecord> = []
        for (const row of rows) {
          const similarity = 1 - Number(row.distance)
          const score = Number.isFinite(similarity) ? Math.min(1, Math.max(0, similarity)) : 0
          if (score >= query.minScore) hits.push({ record: toRecord(row), score })
        }
        // Iterative index scans may return rows slightly out of order.
        return hits.sort((a, b) => b.score - a.score)
      }).pipe(
        Effect.withSpan("MemoryStore.search", {
          attributes: { "memory.store": options.provider, "memory.namespace": query.namespace, "memory.k": query.k }
        })
      )

    const ping: MemoryStoreService["ping"] = sql`SELECT 1 FROM memories LIMIT 1`.pipe(
      Effect.asVoid,
      Effect.mapError(failed("store unreachable"))
    )

    return { provider: options.provider, dimensions, insert, get, delete: remove, search, ping } satisfies MemoryStoreService
  })
