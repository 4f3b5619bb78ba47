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
  })
})
