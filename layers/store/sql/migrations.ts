/**
 * The schema, as @effect/sql Migrator migrations. pgvector and pglite run the
 * same ones. The vector width and storage type are fixed when the table is
 * made; the vector index is not a migration (see SqlSchema.ensureIndex) because
 * its kind and tuning follow the configuration.
 */
import { SqlClient } from "@effect/sql"
import { Effect } from "effect"
import type { VectorType } from "./SqlStoreConfig.ts"

export const TABLE = "memories"

/** A record's time: when it happened if the caller said (occurred_at), else when it was stored. Indexed (0004). */
export const RECORD_TIME = "coalesce(occurred_at, created_at)"

/**
 * The text search configuration of `content_tsv` and of every keyword query:
 * `english` (Snowball stemming, stop words dropped) ranked better than `simple`
 * on the benchmark's labelled set, identifiers included (bench/PERFORMANCE.md).
 */
export const TEXT_SEARCH_CONFIG = "english"

/** The scope a record's content is unique in besides namespace and kind: its document, if a chunk (src/domain/DedupScope.ts). Indexed (0005). */
export const DEDUP_SCOPE = "coalesce(metadata->>'documentId', '')"

/**
 * BM25's term statistics, kept by statement-level triggers in the writing
 * transaction, so every path that changes rows (insert, update, delete, replace,
 * the expiry sweep, a COPY) keeps them exact. Each statement locks its
 * namespaces' `memory_doc_stats` rows first, in namespace order: a writer holds
 * a namespace's term rows only while it holds that row, so two writers can never
 * wait on each other's term rows (term rows are then taken in term order anyway).
 */
const statsTrigger = (name: string, docDelta: string, termDelta: string, dropsTerms: boolean) => `
  CREATE FUNCTION ${name}() RETURNS trigger LANGUAGE plpgsql SET search_path FROM CURRENT AS $body$
  BEGIN
    INSERT INTO memory_doc_stats AS s (namespace, docs, lexemes)
      SELECT namespace, sum(docs), sum(lexemes) FROM (${docDelta}) d GROUP BY namespace ORDER BY namespace
      ON CONFLICT (namespace) DO UPDATE SET docs = s.docs + EXCLUDED.docs, lexemes = s.lexemes + EXCLUDED.lexemes;
    INSERT INTO memory_term_stats AS t (namespace, term, df)
      SELECT namespace, term, sum(n) FROM (${termDelta}) d GROUP BY namespace, term HAVING sum(n) <> 0 ORDER BY namespace, term
      ON CONFLICT (namespace, term) DO UPDATE SET df = t.df + EXCLUDED.df;
    ${dropsTerms ? `DELETE FROM memory_term_stats t WHERE t.df <= 0 AND (t.namespace, t.term) IN (SELECT namespace, term FROM (${termDelta}) d);` : ""}
    RETURN NULL;
  END $body$`

const lexemes = (table: string, column = "content_tsv") =>
  `SELECT r.namespace, u.term FROM ${table} r, unnest(tsvector_to_array(r.${column})) AS u(term)`

// 0006 was taken by a commit that never landed (the vector's storage, now SqlSchema's start-up
// step): databases it ran on would skip a new 0006, so the next migration is 0007.
export const migrations = (options: { readonly dimensions: number; readonly vectorType: VectorType }) => ({
  "0001_memories": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    const vectorColumn = sql.literal(`${options.vectorType}(${options.dimensions})`)
    yield* sql`CREATE EXTENSION IF NOT EXISTS vector`
    yield* sql`
      CREATE TABLE memories (
        namespace       text        NOT NULL,
        id              text        NOT NULL,
        kind            text        NOT NULL CHECK (kind IN ('memory', 'knowledge', 'message')),
        content         text        NOT NULL,
        content_hash    text        NOT NULL,
        tags            text[]      NOT NULL DEFAULT '{}',
        metadata        jsonb       NOT NULL DEFAULT '{}',
        session_id      text,
        embedding       ${vectorColumn} NOT NULL,
        embedding_model text        NOT NULL,
        created_at      timestamptz NOT NULL DEFAULT now(),
        updated_at      timestamptz NOT NULL DEFAULT now(),
        expires_at      timestamptz,
        -- namespace leads every key, so the table can be sharded by tenant (Citus).
        PRIMARY KEY (namespace, id)
      )`
    // Dedup by content within a namespace and kind; chat messages may repeat.
    yield* sql`CREATE UNIQUE INDEX memories_content_hash ON memories (namespace, kind, content_hash) WHERE kind <> 'message'`
    yield* sql`CREATE INDEX memories_metadata ON memories USING gin (metadata jsonb_path_ops)`
    yield* sql`CREATE INDEX memories_tags ON memories USING gin (tags)`
    yield* sql`CREATE INDEX memories_session ON memories (namespace, session_id, created_at) WHERE session_id IS NOT NULL`
    yield* sql`CREATE INDEX memories_expires_at ON memories (expires_at) WHERE expires_at IS NOT NULL`
  }),
  "0002_keyword_search_and_kv": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // 'simple': no stemming and no stop words, so identifiers and any language match as written.
    yield* sql`ALTER TABLE memories ADD COLUMN content_tsv tsvector GENERATED ALWAYS AS (to_tsvector('simple', content)) STORED`
    yield* sql`CREATE INDEX memories_content_tsv ON memories USING gin (content_tsv)`
    yield* sql`
      CREATE TABLE memory_kv (
        namespace  text        NOT NULL,
        key        text        NOT NULL,
        value      jsonb       NOT NULL,
        created_at timestamptz NOT NULL DEFAULT now(),
        updated_at timestamptz NOT NULL DEFAULT now(),
        expires_at timestamptz,
        PRIMARY KEY (namespace, key)
      )`
    yield* sql`CREATE INDEX memory_kv_expires_at ON memory_kv (expires_at) WHERE expires_at IS NOT NULL`
  }),
  "0003_bm25_statistics": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // No writer may slip between the backfill and the triggers.
    yield* sql`LOCK TABLE memories IN SHARE ROW EXCLUSIVE MODE`
    yield* sql`DROP INDEX memories_content_tsv`
    yield* sql`ALTER TABLE memories DROP COLUMN content_tsv`
    yield* sql`ALTER TABLE memories ADD COLUMN content_tsv tsvector
      GENERATED ALWAYS AS (to_tsvector(${sql.literal(`'${TEXT_SEARCH_CONFIG}'`)}, content)) STORED`
    yield* sql`CREATE INDEX memories_content_tsv ON memories USING gin (content_tsv)`
    // Per namespace: how many records and how many distinct terms they hold in all (for the average length).
    yield* sql`CREATE TABLE memory_doc_stats (namespace text PRIMARY KEY, docs bigint NOT NULL, lexemes bigint NOT NULL)`
    // Per namespace and term: how many records hold it (document frequency).
    yield* sql`CREATE TABLE memory_term_stats (namespace text NOT NULL, term text NOT NULL, df integer NOT NULL, PRIMARY KEY (namespace, term))`
    yield* sql.unsafe(statsTrigger(
      "memory_stats_on_insert",
      "SELECT namespace, 1 AS docs, length(content_tsv) AS lexemes FROM new_rows",
      `SELECT namespace, term, 1 AS n FROM (${lexemes("new_rows")}) x`,
      false
    ))
    yield* sql.unsafe(statsTrigger(
      "memory_stats_on_delete",
      "SELECT namespace, -1 AS docs, -length(content_tsv) AS lexemes FROM old_rows",
      `SELECT namespace, term, -1 AS n FROM (${lexemes("old_rows")}) x`,
      true
    ))
    // Only rows whose text changed count; namespace and id never change.
    const changed = "(SELECT o.namespace, o.content_tsv AS was, n.content_tsv AS now FROM old_rows o JOIN new_rows n ON n.namespace = o.namespace AND n.id = o.id WHERE o.content_tsv <> n.content_tsv)"
    yield* sql.unsafe(statsTrigger(
      "memory_stats_on_update",
      `SELECT namespace, 0 AS docs, length(now) - length(was) AS lexemes FROM ${changed} c`,
      `SELECT namespace, term, 1 AS n FROM (${lexemes(changed, "now")}) x
        UNION ALL SELECT namespace, term, -1 AS n FROM (${lexemes(changed, "was")}) y`,
      true
    ))
    yield* sql`CREATE TRIGGER memory_stats_on_insert AFTER INSERT ON memories REFERENCING NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION memory_stats_on_insert()`
    yield* sql`CREATE TRIGGER memory_stats_on_delete AFTER DELETE ON memories REFERENCING OLD TABLE AS old_rows
      FOR EACH STATEMENT EXECUTE FUNCTION memory_stats_on_delete()`
    yield* sql`CREATE TRIGGER memory_stats_on_update AFTER UPDATE ON memories REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
      FOR EACH STATEMENT EXECUTE FUNCTION memory_stats_on_update()`
    // The records already stored (an upgraded database).
    yield* sql`INSERT INTO memory_doc_stats (namespace, docs, lexemes)
      SELECT namespace, count(*), coalesce(sum(length(content_tsv)), 0) FROM memories GROUP BY namespace`
    yield* sql`INSERT INTO memory_term_stats (namespace, term, df)
      SELECT namespace, term, count(*) FROM (${sql.literal(lexemes("memories"))}) x GROUP BY namespace, term`
  }),
  "0004_record_time": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Nullable, no default: adding it rewrites nothing; a record without it is timed by created_at.
    yield* sql`ALTER TABLE memories ADD COLUMN occurred_at timestamptz`
    // since/until and history order go by RECORD_TIME; these indexes answer them (the expression must match exactly).
    yield* sql`CREATE INDEX memories_time ON memories (namespace, ${sql.literal(`(${RECORD_TIME})`)})`
    yield* sql`CREATE INDEX memories_session_time ON memories (namespace, session_id, ${sql.literal(`(${RECORD_TIME})`)})
      WHERE session_id IS NOT NULL`
  }),
  "0005_dedup_within_document": Effect.gen(function*() {
    const sql = yield* SqlClient.SqlClient
    // Was (namespace, kind, content_hash): a chunk two documents share was kept by one of them only.
    // The new key is looser, so rows the old one allowed always fit it.
    yield* sql`DROP INDEX memories_content_hash`
    yield* sql`CREATE UNIQUE INDEX memories_content_hash ON memories (namespace, kind, ${sql.literal(`(${DEDUP_SCOPE})`)}, content_hash)
      WHERE kind <> 'message'`
  })
})
