/**
 * The Store port over any @effect/sql PostgreSQL client with pgvector: the
 * `pgvector` provider (a server through @effect/sql-pg) and the `pglite`
 * provider (embedded) both use this, with the same SQL.
 */
import { SqlClient, SqlError, type Statement } from "@effect/sql"
import { Effect, Option } from "effect"
import { DimensionMismatch, DuplicateContent, IdConflict, StoreUnavailable } from "../../../src/domain/errors.ts"
import { dedupScope } from "../../../src/domain/DedupScope.ts"
import { MemoryRecord, type MemoryKind } from "../../../src/domain/Memory.ts"
import { trusted } from "../../../src/domain/trusted.ts"
import * as HandSpan from "../../../src/observability/handSpan.ts"
import type {
  InsertOutcome,
  KvEntry,
  MemoryStoreService,
  NewRecord,
  RecordSelector,
  ScoredRecord,
  VectorQuery
} from "../../../src/ports/MemoryStore.ts"
import * as Bm25 from "../Bm25.ts"
import { compileFilter } from "./filterSql.ts"
import { DEDUP_SCOPE, RECORD_TIME, TEXT_SEARCH_CONFIG } from "./migrations.ts"
import { PREPARED } from "./prepared.ts"
import { textArrayLiteral } from "./pgText.ts"
import type { VectorType } from "./SqlStoreConfig.ts"

export interface SqlStoreOptions {
  readonly provider: string
  readonly dimensions: number
  readonly vectorType: VectorType
  /** How a vector travels as a parameter: binary for a server, text for PGlite. */
  readonly encodeVector: (vector: Float32Array) => unknown
  /**
   * Sends one statement straight over a pooled connection, past the SQL client's statement layer
   * (its compiler, transforms and span): the plain vector search, the hottest query. Left out,
   * that search goes through the SQL client like every other statement.
   */
  readonly runDirect?: DirectRunner | undefined
  /** A faster batch write than the VALUES insert: a server's binary COPY. */
  readonly bulkInsert?: BulkInsert | undefined
}

export interface BulkInsert {
  /**
   * Writes a batch of new records as they are, each row once: true when every row went
   * in, false when it cannot run here or a row breaks a unique key (a duplicate, an id
   * taken, an expired record in the way); then nothing of the attempt is left.
   */
  readonly insertNew: (items: ReadonlyArray<NewRecord>) => Effect.Effect<boolean, SqlError.SqlError>
  /**
   * Inserts the rows as `INSERT … ON CONFLICT DO NOTHING` would, in batch order, and answers
   * the rows it inserted; None when it cannot run here (then the VALUES insert does).
   */
  readonly insert: (sql: SqlClient.SqlClient, items: ReadonlyArray<NewRecord>) => Effect.Effect<Option.Option<ReadonlyArray<InsertedRow>>, SqlError.SqlError>
}

/** Runs a statement text with its parameters on some connection; answers the rows. */
export type DirectRunner = <Row>(text: string, params: ReadonlyArray<unknown>) => Effect.Effect<ReadonlyArray<Row>, SqlError.SqlError>

/** What an insert answers of each row it inserted: enough to tell whose row it is. */
export interface InsertedRow {
  readonly id: string
  readonly kind: string
  readonly content_hash: string
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
  readonly occurred_at: Date | null
}

interface KvRow {
  readonly namespace: string
  readonly key: string
  readonly value: unknown
  readonly created_at: Date
  readonly updated_at: Date
  readonly expires_at: Date | null
}

/** Records the rarest query terms may bring before the common ones are left to MaxScore. */
const CANDIDATE_BUDGET = 2000

/** A tsquery matching any of these lexemes, each quoted as tsquery's input syntax wants (no stemming again). */
const tsquery = (lexemes: ReadonlyArray<string>) =>
  lexemes.map((l) => "'" + l.replace(/\\/g, "\\\\").replace(/'/g, "''") + "'").join(" | ")

const COLUMNS = "namespace, id, kind, content, content_hash, tags, metadata, session_id, embedding_model, created_at, updated_at, expires_at, occurred_at"

const causeMessage = (error: SqlError.SqlError) => (error.cause instanceof Error ? error.cause.message : error.message)
const failed = (what: string) => (error: SqlError.SqlError) => new StoreUnavailable({ message: `${what}: ${causeMessage(error)}` })
/**
 * A transaction whose COMMIT or ROLLBACK fails (the connection dropped, e.g.
 * pg_terminate_backend or a server crash) dies in @effect/sql; here it is the
 * StoreUnavailable it is: the write was not acknowledged and may be retried.
 */
const inTransaction = (sql: SqlClient.SqlClient, what: string) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
  sql.withTransaction(self).pipe(
    Effect.catchSomeDefect((defect) =>
      defect instanceof SqlError.SqlError ? Option.some(Effect.fail(failed(what)(defect))) : Option.none()
    ),
    Effect.catchIf((e): e is SqlError.SqlError => e instanceof SqlError.SqlError, (e) => Effect.fail(failed(what)(e)))
  )
/** SQLSTATE 23505: a row would break a unique key. */
export const isUniqueViolation = (error: SqlError.SqlError) =>
  typeof error.cause === "object" && error.cause !== null && "code" in error.cause && error.cause.code === "23505"

const toKv = (row: KvRow): KvEntry => ({
  namespace: row.namespace,
  key: row.key,
  value: row.value,
  createdAt: row.created_at,
  updatedAt: row.updated_at,
  expiresAt: row.expires_at
})

export const make = (options: SqlStoreOptions) =>
  Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const { dimensions } = options
    const columns = sql.literal(COLUMNS)
    // Spans made by hand (HandSpan.around): the same span as Effect.withSpan's, for about half its cost.
    const span = (name: string, attributes: Record<string, unknown> = {}) => <A, E, R>(self: Effect.Effect<A, E, R>) =>
      HandSpan.around(`MemoryStore.${name}`, { "memory.store": options.provider, ...attributes }, () => self)
    const vectorParam = (vector: Float32Array) =>
      options.vectorType === "halfvec"
        ? sql`${options.encodeVector(vector)}::vector::halfvec`
        : sql`${options.encodeVector(vector)}::vector`

    // Trusted rows from our own table: no re-validation, no constructor pass (one per search row).
    const toRecord = (row: Row): MemoryRecord =>
      trusted(MemoryRecord, {
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
        occurredAt: row.occurred_at,
        embeddingModel: row.embedding_model,
        embeddingDimensions: dimensions
      })

    const checkWidth = (vector: Float32Array, where: string) =>
      vector.length === dimensions ? Effect.void : Effect.fail(DimensionMismatch.of(dimensions, vector.length, where))

    const live = sql`(expires_at IS NULL OR expires_at > now())`
    const recordTime = sql.literal(RECORD_TIME)
    const dedupScopeSql = sql.literal(DEDUP_SCOPE)

    /** The selector as WHERE conditions; all values are parameters. */
    const where = (selector: RecordSelector): Statement.Fragment => {
      const conditions: Array<Statement.Fragment> = [sql`namespace = ${selector.namespace}`, live]
      if (selector.kinds && selector.kinds.length > 0) conditions.push(sql`kind IN ${sql.in(selector.kinds)}`)
      if (selector.tags && selector.tags.length > 0) {
        const tags = textArrayLiteral(selector.tags)
        conditions.push(selector.tagMatch === "any" ? sql`tags && ${tags}::text[]` : sql`tags @> ${tags}::text[]`)
      }
      if (selector.sessionId !== undefined) conditions.push(sql`session_id = ${selector.sessionId}`)
      if (selector.filter) conditions.push(compileFilter(sql, selector.filter))
      // The indexed expression itself (memories_time), so the planner can use the index.
      if (selector.since !== undefined) conditions.push(sql`${recordTime} >= ${selector.since}`)
      if (selector.until !== undefined) conditions.push(sql`${recordTime} <= ${selector.until}`)
      return sql.and(conditions)
    }

    const insertNamespace = (namespace: string, items: ReadonlyArray<NewRecord>) =>
      Effect.gen(function*() {
        // A bulk load's batch is all new: written as it is, no conflict to sort out.
        if (options.bulkInsert && (yield* options.bulkInsert.insertNew(items))) {
          return items.map(({ record }): InsertOutcome => ({ record, deduplicated: false }))
        }
        const ids = items.map((i) => i.record.id)
        const hashes = items.map((i) => i.record.contentHash)
        // An expired record must not block its id or its content from being stored again.
        yield* sql`DELETE FROM memories WHERE namespace = ${namespace} AND expires_at <= now()
          AND (id = ANY(${textArrayLiteral(ids)}::text[]) OR content_hash = ANY(${textArrayLiteral(hashes)}::text[]))`
        const values = () =>
          items.map(({ embedding, record: r }) =>
            sql`(${r.namespace}, ${r.id}, ${r.kind}, ${r.content}, ${r.contentHash}, ${textArrayLiteral(r.tags)}::text[],
            ${JSON.stringify(r.metadata)}::jsonb, ${r.sessionId}, ${vectorParam(embedding)}, ${r.embeddingModel},
            ${r.createdAt}, ${r.updatedAt}, ${r.expiresAt}, ${r.occurredAt})`
          )
        const bulk = options.bulkInsert ? yield* options.bulkInsert.insert(sql, items) : Option.none()
        // Only what tells whose row it is: the rows we inserted are the records we hold.
        const inserted = Option.isSome(bulk) ? bulk.value : yield* sql<InsertedRow>`
          INSERT INTO memories (namespace, id, kind, content, content_hash, tags, metadata,
            session_id, embedding, embedding_model, created_at, updated_at, expires_at, occurred_at)
          VALUES ${sql.csv(values())} ON CONFLICT DO NOTHING RETURNING id, kind, content_hash`
        const byId = new Map(inserted.map((row) => [row.id, row]))
        const skipped = items.filter((i) => !byId.has(i.record.id))
        const existing = skipped.length === 0 ? [] : yield* sql<Row>`SELECT ${columns} FROM memories
          WHERE namespace = ${namespace} AND kind <> 'message'
            AND content_hash = ANY(${textArrayLiteral(skipped.map((i) => i.record.contentHash))}::text[])`
        const dedupKey = (kind: string, metadata: Record<string, unknown>, hash: string) => `${kind}\u0000${dedupScope(metadata)}\u0000${hash}`
        const byHash = new Map(existing.map((row) => [dedupKey(row.kind, row.metadata, row.content_hash), row]))
        const outcomes: Array<InsertOutcome> = []
        // Which item's record each inserted row is.
        const claimedBy = new Map<string, MemoryRecord>()
        for (const { record } of items) {
          const mine = byId.get(record.id)
          const sameAsMine = mine !== undefined && mine.content_hash === record.contentHash && mine.kind === record.kind
          // The row inserted under this id belongs to the first item that matches it (an id can repeat in a batch).
          if (sameAsMine && !claimedBy.has(record.id)) {
            claimedBy.set(record.id, record)
            outcomes.push({ record, deduplicated: false })
            continue
          }
          const same = record.kind === "message" ? undefined : byHash.get(dedupKey(record.kind, record.metadata, record.contentHash))
          // A repeat of an item stored earlier in this batch is a duplicate of that item's record.
          const earlier = same === undefined && sameAsMine ? claimedBy.get(record.id) : undefined
          if (!same && !earlier) return yield* IdConflict.of(namespace, record.id)
          outcomes.push({ record: same ? toRecord(same) : earlier!, deduplicated: true })
        }
        return outcomes
      })

    const insertAll = (items: ReadonlyArray<NewRecord>) =>
      Effect.gen(function*() {
        for (const item of items) yield* checkWidth(item.embedding, "insert")
        // Each namespace's items with their positions in the batch (the same item may come twice).
        const groups = new Map<string, { items: Array<NewRecord>; at: Array<number> }>()
        items.forEach((item, position) => {
          const group = groups.get(item.record.namespace)
          if (group) {
            group.items.push(item)
            group.at.push(position)
          } else groups.set(item.record.namespace, { items: [item], at: [position] })
        })
        const outcomes = new Array<InsertOutcome>(items.length)
        // Namespaces in order: the statistics triggers lock each namespace's row, and two batches must take them alike.
        for (const [namespace, group] of [...groups].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))) {
          const done = yield* insertNamespace(namespace, group.items)
          done.forEach((outcome, i) => (outcomes[group.at[i]!] = outcome))
        }
        return outcomes
      })

    const insert: MemoryStoreService["insert"] = (items) =>
      (items.length === 0 ? Effect.succeed([]) : insertAll(items)).pipe(
        inTransaction(sql, "insert failed"),
        span("insert", { "memory.count": items.length })
      )

    const replace: MemoryStoreService["replace"] = (selector, items) =>
      Effect.gen(function*() {
        yield* sql`DELETE FROM memories WHERE ${where(selector)}`
        return items.length === 0 ? [] : yield* insertAll(items)
      }).pipe(
        inTransaction(sql, "replace failed"),
        span("replace", { "memory.namespace": selector.namespace, "memory.count": items.length })
      )

    const update: MemoryStoreService["update"] = (namespace, id, patch) =>
      Effect.gen(function*() {
        if (patch.content) yield* checkWidth(patch.content.embedding, "update")
        const sets = [sql`updated_at = ${patch.updatedAt}`]
        if (patch.content) {
          sets.push(
            sql`content = ${patch.content.text}`,
            sql`content_hash = ${patch.content.hash}`,
            sql`embedding = ${vectorParam(patch.content.embedding)}`,
            sql`embedding_model = ${patch.content.model}`
          )
        }
        if (patch.kind !== undefined) sets.push(sql`kind = ${patch.kind}`)
        if (patch.tags !== undefined) sets.push(sql`tags = ${textArrayLiteral(patch.tags)}::text[]`)
        if (patch.metadata !== undefined) sets.push(sql`metadata = ${JSON.stringify(patch.metadata)}::jsonb`)
        if (patch.expiresAt !== undefined) sets.push(sql`expires_at = ${patch.expiresAt}`)
        const rows = yield* sql<Row>`UPDATE memories SET ${sql.csv(sets)}
          WHERE namespace = ${namespace} AND id = ${id} AND ${live} RETURNING ${columns}`.pipe(
          Effect.catchIf(isUniqueViolation, () =>
            sql<{ readonly id: string }>`SELECT id FROM memories WHERE namespace = ${namespace} AND kind = ${patch.kind ?? sql`(SELECT kind FROM memories WHERE namespace = ${namespace} AND id = ${id})`}
              AND content_hash = ${patch.content?.hash ?? ""} AND id <> ${id}
              AND ${dedupScopeSql} = ${patch.metadata === undefined ? sql`(SELECT ${dedupScopeSql} FROM memories WHERE namespace = ${namespace} AND id = ${id})` : dedupScope(patch.metadata)}`.pipe(
              Effect.flatMap(([holder]) => Effect.fail(DuplicateContent.of(id, holder?.id ?? "another record")))
            ))
        )
        return Option.map(Option.fromNullable(rows[0]), toRecord)
      }).pipe(
        Effect.catchTag("SqlError", (e) => Effect.fail(failed("update failed")(e))),
        span("update", { "memory.namespace": namespace })
      )

    const get: MemoryStoreService["get"] = (namespace, id) =>
      sql<Row>`SELECT ${columns} FROM memories WHERE namespace = ${namespace} AND id = ${id} AND ${live}`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toRecord)),
        Effect.mapError(failed("get failed")),
        span("get")
      )

    const remove: MemoryStoreService["delete"] = (namespace, id) =>
      sql`DELETE FROM memories WHERE namespace = ${namespace} AND id = ${id} RETURNING id`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(failed("delete failed")),
        span("delete")
      )

    const deleteWhere: MemoryStoreService["deleteWhere"] = (selector) =>
      sql`DELETE FROM memories WHERE ${where(selector)} RETURNING id`.pipe(
        Effect.map((rows) => rows.length),
        Effect.mapError(failed("delete failed")),
        span("deleteWhere", { "memory.namespace": selector.namespace })
      )

    const list: MemoryStoreService["list"] = (selector, { limit, newestFirst }) =>
      sql<Row>`SELECT ${columns} FROM memories WHERE ${where(selector)}
        ORDER BY ${recordTime} ${sql.literal(newestFirst ? "DESC" : "ASC")}, created_at ${sql.literal(newestFirst ? "DESC" : "ASC")}, id
        LIMIT ${limit}`.pipe(
        Effect.map((rows) => rows.map(toRecord)),
        Effect.mapError(failed("list failed")),
        span("list", { "memory.namespace": selector.namespace })
      )

    const scored = (rows: ReadonlyArray<Row & { readonly score: number }>, minScore: number) => {
      const hits: Array<ScoredRecord> = []
      for (const row of rows) {
        const value = Number(row.score)
        const score = Number.isFinite(value) ? Math.min(1, Math.max(0, value)) : 0
        if (score >= minScore) hits.push({ record: toRecord(row), score })
      }
      // Iterative index scans may return rows slightly out of order.
      return hits.sort((a, b) => b.score - a.score)
    }

    const prepared = sql.literal(PREPARED)
    const isFiltered = (query: VectorQuery) =>
      query.filter !== undefined || query.tags !== undefined || query.kinds !== undefined || query.sessionId !== undefined ||
      query.since !== undefined || query.until !== undefined
    // The plain search has one text (k and the vector are parameters): prepared once per connection.
    const searchStatement = (query: VectorQuery) => {
      const distance = sql`embedding <=> ${vectorParam(query.embedding)}`
      return sql<Row & { readonly score: number }>`${isFiltered(query) ? sql.literal("") : prepared}SELECT ${columns},
          1 - (${distance}) AS score FROM memories WHERE ${where(query)}
          ORDER BY ${distance} LIMIT ${query.k}`
    }
    // The plain search's text as the SQL client would send it, compiled once for the direct runner;
    // its parameters are, in order, the vector, the namespace, the vector again and k.
    const direct = options.runDirect === undefined ? undefined : {
      run: options.runDirect,
      text: searchStatement({ namespace: "", k: 1, embedding: new Float32Array(dimensions), minScore: 0 }).compile()[0]
    }
    const searchAttributes = (query: VectorQuery) => ({ "memory.namespace": query.namespace, "memory.k": query.k })

    const search: MemoryStoreService["search"] = (query) => {
      if (direct !== undefined && query.embedding.length === dimensions && !isFiltered(query)) {
        const vector = options.encodeVector(query.embedding)
        return direct.run<Row & { readonly score: number }>(direct.text, [vector, query.namespace, vector, query.k]).pipe(
          Effect.mapBoth({ onFailure: failed("search failed"), onSuccess: (rows) => scored(rows, query.minScore) }),
          span("search", searchAttributes(query))
        )
      }
      return Effect.gen(function*() {
        yield* checkWidth(query.embedding, "search")
        const rows = yield* searchStatement(query).pipe(Effect.mapError(failed("search failed")))
        if (rows.length >= query.k || !isFiltered(query)) return scored(rows, query.minScore)
        // A selective filter can exhaust the index scan before k rows pass it: an exact scan of
        // the filtered rows (the `+ 0` keeps the planner off the vector index) finds them all.
        const distance = sql`embedding <=> ${vectorParam(query.embedding)}`
        const exact = yield* sql<Row & { readonly score: number }>`
          SELECT ${columns}, 1 - (${distance}) AS score FROM memories WHERE ${where(query)}
          ORDER BY (${distance}) + 0 LIMIT ${query.k}`.pipe(Effect.mapError(failed("search failed")))
        return scored(exact, query.minScore)
      }).pipe(span("search", searchAttributes(query)))
    }

    /**
     * BM25 over the namespace's term statistics (kept by triggers, see
     * migrations.ts): one small read of the query terms' document frequencies,
     * then the candidates from the GIN index, rarest terms first (MaxScore: a
     * record matching only common terms is not scored once it cannot reach the
     * top k), scored in SQL from the stored tsvector, and only the top k rows
     * read in full.
     */
    const keywordSearch: MemoryStoreService["keywordSearch"] = (query) =>
      Effect.gen(function*() {
        const statistics = yield* sql<{ readonly term: string; readonly df: number; readonly docs: number; readonly lexemes: number }>`
          SELECT q.term, coalesce(t.df, 0)::float8 AS df, s.docs::float8 AS docs, s.lexemes::float8 AS lexemes
          FROM (SELECT DISTINCT term FROM unnest(tsvector_to_array(to_tsvector(${sql.literal(`'${TEXT_SEARCH_CONFIG}'`)}, ${query.text}))) AS term) q
          JOIN memory_doc_stats s ON s.namespace = ${query.namespace}
          LEFT JOIN memory_term_stats t ON t.namespace = ${query.namespace} AND t.term = q.term`
        const docs = statistics[0]?.docs ?? 0
        const terms: Array<Bm25.WeightedTerm> = statistics
          .filter((row) => row.df > 0)
          .map((row) => ({ term: row.term, df: row.df, idf: Bm25.idf(docs, row.df) }))
          .sort((a, b) => a.df - b.df || (a.term < b.term ? -1 : 1))
          .slice(0, Bm25.MAX_QUERY_TERMS)
        if (docs <= 0 || terms.length === 0) return []
        const averageLength = Math.max(1, statistics[0]!.lexemes / docs)
        const termList = textArrayLiteral(terms.map((t) => t.term))
        const weights = `{${terms.map((t) => t.idf).join(",")}}`
        const selected = where(query)
        // Our own finite numbers, as literals: the planner sees constants, and no parameter needs a type guessed.
        const float = (n: number) => sql.literal(`${n}::float8`)
        const rank = (candidates: ReadonlyArray<Bm25.WeightedTerm>) =>
          sql<Row & { readonly score: number }>`
            WITH ranked AS (
              SELECT m.namespace, m.id, (
                SELECT sum(w.idf * x.tf * ${float(Bm25.K1 + 1)} / (x.tf + ${float(Bm25.K1)} * (1 - ${float(Bm25.B)} + ${float(Bm25.B)} * length(m.content_tsv) / ${float(averageLength)})))
                FROM (
                  SELECT u.lexeme, coalesce(array_length(u.positions, 1), 1)::float8 AS tf
                  FROM unnest(ts_filter(setweight(m.content_tsv, 'A', ${termList}::text[]), '{a}')) u
                ) x JOIN unnest(${termList}::text[], ${weights}::float8[]) AS w(term, idf) ON w.term = x.lexeme
              ) AS score
              FROM memories m
              WHERE ${selected} AND m.content_tsv @@ ${tsquery(candidates.map((t) => t.term))}::tsquery
              -- Ties by id (code-unit order, as the in-memory store and the benchmark's reference): nothing about when a record came.
              ORDER BY score DESC, m.id COLLATE "C" LIMIT ${query.k}
            )
            SELECT ${columns}, ranked.score FROM ranked JOIN memories USING (namespace, id)
            ORDER BY ranked.score DESC, id COLLATE "C"`
        let candidates = Bm25.rarestWithin(terms, Math.max(CANDIDATE_BUDGET, 20 * query.k))
        let rows = yield* rank(candidates)
        if (candidates.length < terms.length) {
          // Scored all the records the rare terms find; the rest need scoring only if they could still beat the k-th.
          const kth = rows.length >= query.k ? Number(rows[query.k - 1]!.score) : 0
          const needed = Bm25.essentialTerms(terms, kth)
          if (needed.length > candidates.length) {
            candidates = needed
            rows = yield* rank(candidates)
          }
        }
        const scale = Bm25.normaliser(terms)
        return scored(rows.map((row) => ({ ...row, score: Number(row.score) / scale })), 0)
      }).pipe(
        Effect.mapError(failed("keyword search failed")),
        span("keywordSearch", { "memory.namespace": query.namespace, "memory.k": query.k })
      )

    const deleteExpired: MemoryStoreService["deleteExpired"] = Effect.gen(function*() {
      const records = yield* sql`DELETE FROM memories WHERE expires_at <= now() RETURNING 1`
      const kv = yield* sql`DELETE FROM memory_kv WHERE expires_at <= now() RETURNING 1`
      return records.length + kv.length
    }).pipe(Effect.mapError(failed("expiry sweep failed")), span("deleteExpired"))

    const kvColumns = sql.literal("namespace, key, value, created_at, updated_at, expires_at")

    const kvGet: MemoryStoreService["kvGet"] = (namespace, key) =>
      sql<KvRow>`SELECT ${kvColumns} FROM memory_kv WHERE namespace = ${namespace} AND key = ${key} AND ${live}`.pipe(
        Effect.map((rows) => Option.map(Option.fromNullable(rows[0]), toKv)),
        Effect.mapError(failed("recall failed")),
        span("kvGet")
      )

    const kvSet: MemoryStoreService["kvSet"] = (namespace, key, value, expiresAt) =>
      sql<KvRow>`INSERT INTO memory_kv (namespace, key, value, expires_at)
        VALUES (${namespace}, ${key}, ${JSON.stringify(value)}::jsonb, ${expiresAt})
        ON CONFLICT (namespace, key) DO UPDATE SET value = EXCLUDED.value, expires_at = EXCLUDED.expires_at, updated_at = now(),
          created_at = CASE WHEN memory_kv.expires_at <= now() THEN now() ELSE memory_kv.created_at END
        RETURNING ${kvColumns}`.pipe(
        Effect.map((rows) => toKv(rows[0]!)),
        Effect.mapError(failed("remember failed")),
        span("kvSet")
      )

    const kvDelete: MemoryStoreService["kvDelete"] = (namespace, key) =>
      sql`DELETE FROM memory_kv WHERE namespace = ${namespace} AND key = ${key} AND ${live} RETURNING 1`.pipe(
        Effect.map((rows) => rows.length > 0),
        Effect.mapError(failed("forget failed")),
        span("kvDelete")
      )

    const ping: MemoryStoreService["ping"] = sql`SELECT 1 FROM memories LIMIT 1`.pipe(
      Effect.asVoid,
      Effect.mapError(failed("store unreachable"))
    )

    return {
      provider: options.provider,
      dimensions,
      insert,
      replace,
      update,
      get,
      delete: remove,
      deleteWhere,
      list,
      search,
      keywordSearch,
      deleteExpired,
      kvGet,
      kvSet,
      kvDelete,
      ping
    } satisfies MemoryStoreService
  })
