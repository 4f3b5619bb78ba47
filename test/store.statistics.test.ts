/**
 * BM25's term statistics in the SQL stores: the stored document frequencies,
 * counts and lengths equal a recomputation from the rows after every kind of
 * write, concurrent writers neither deadlock nor lose counts, an existing
 * database upgrades with its statistics backfilled, and the candidates taken
 * rarest terms first (MaxScore) rank exactly as scoring every match does.
 */
import { describe, expect, it } from "@effect/vitest"
import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { Effect, Option } from "effect"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import * as PgliteClient from "../layers/store/pglite/PgliteClient.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { migrations } from "../layers/store/sql/migrations.ts"
import { MIGRATIONS_TABLE } from "../layers/store/sql/SqlSchema.ts"
import { filterTree } from "../src/domain/Filter.ts"
import type { MemoryStoreService } from "../src/ports/MemoryStore.ts"
import { databaseUrl, freshSchema, postgresAvailable, query } from "./support/postgres.ts"
import { DIMENSIONS, newNamespace, newRecord, unit } from "./support/records.ts"

/** Rows where the stored statistics and a recomputation from `memories` disagree (none, when exact). */
const DRIFT = `
  SELECT 'term' AS what, namespace, term, r.df AS computed, t.df AS stored
  FROM (SELECT namespace, term, count(*)::int AS df FROM memories, unnest(tsvector_to_array(content_tsv)) AS term GROUP BY 1, 2) r
  FULL JOIN memory_term_stats t USING (namespace, term) WHERE r.df IS DISTINCT FROM t.df
  UNION ALL
  SELECT 'docs', namespace, '', coalesce(r.docs, 0), coalesce(s.docs, 0)
  FROM (SELECT namespace, count(*)::int AS docs, sum(length(content_tsv))::int AS lexemes FROM memories GROUP BY 1) r
  FULL JOIN memory_doc_stats s USING (namespace)
  WHERE coalesce(r.docs, 0) <> coalesce(s.docs, 0) OR coalesce(r.lexemes, 0) <> coalesce(s.lexemes, 0)`

const WORDS = "amber basil cedar delta ember fjord garnet harbor indigo juniper kestrel lumen".split(" ")
const text = (i: number) => Array.from({ length: 3 + (i % 5) }, (_, j) => WORDS[(i * 7 + j * 3) % WORDS.length]).join(" ") + ` item${i % 40}`

/** Every kind of write, some at once: what the statistics must survive. */
const churn = (store: MemoryStoreService, concurrency: number) =>
  Effect.gen(function*() {
    const a = newNamespace()
    const b = newNamespace()
    // Batches over two namespaces, in both orders, at once.
    yield* Effect.all(Array.from({ length: 12 }, (_, batch) =>
      store.insert(Array.from({ length: 30 }, (_, i) => {
        const n = batch * 30 + i
        return newRecord({ content: text(n), namespace: (n + batch) % 2 === 0 ? a : b, metadata: { batch } }, unit(n))
      }))), { concurrency })
    const [first] = yield* store.list({ namespace: a }, { limit: 1 })
    yield* Effect.all([
      store.update(a, first!.id, { content: { text: "ember ember quartz", hash: "h-new", embedding: unit(1), model: "test" }, updatedAt: new Date() }),
      store.deleteWhere({ namespace: b, filter: filterTree({ batch: 3 }) }),
      store.insert([newRecord({ content: "quartz only", namespace: a }, unit(2)), newRecord({ content: "quartz only", namespace: a }, unit(2))]),
      store.replace({ namespace: b, filter: filterTree({ batch: 5 }) }, [newRecord({ content: "replaced harbor", namespace: b }, unit(3))]),
      store.insert([newRecord({ content: "short lived amber", namespace: a, expiresAt: new Date(Date.now() - 1) }, unit(4))])
    ], { concurrency })
    yield* store.delete(a, first!.id)
    return { a, b }
  })

describe.skipIf(!postgresAvailable)("pgvector statistics", () => {
  it.scopedLive("stay exact under concurrent writes of every kind, without deadlocks", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const store = yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS })
      const look = <Row extends object>(sql: string) => query<Row>(url, sql, [], [`SET search_path = "${schema}", public`])
      yield* churn(store, 8)
      expect(yield* look(DRIFT)).toEqual([])
      expect(yield* store.deleteExpired).toBeGreaterThanOrEqual(1)
      expect(yield* look(DRIFT)).toEqual([])
    }), 60_000)
})

describe("pglite statistics", () => {
  it.scopedLive("stay exact under every kind of write", () =>
    Effect.gen(function*() {
      const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
      const store = yield* PgliteStore.makeWith(client, { dimensions: DIMENSIONS })
      yield* churn(store, 1)
      expect(yield* client.unsafe(DRIFT)).toEqual([])
      yield* store.deleteExpired
      expect(yield* client.unsafe(DRIFT)).toEqual([])
    }), 60_000)

  it.scopedLive("an existing database upgrades: english lexemes, statistics backfilled", () =>
    Effect.gen(function*() {
      const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
      const all = migrations({ dimensions: DIMENSIONS, vectorType: "vector" })
      // The schema as it was before BM25, with records in it.
      yield* Migrator.make({})({
        loader: Migrator.fromRecord({ "0001_memories": all["0001_memories"], "0002_keyword_search_and_kv": all["0002_keyword_search_and_kv"] }),
        table: MIGRATIONS_TABLE
      }).pipe(Effect.provideService(SqlClient.SqlClient, client))
      for (const [i, content] of ["The deployments failed twice", "deploying again tomorrow", "lunch at noon"].entries()) {
        yield* client`INSERT INTO memories (namespace, id, kind, content, content_hash, embedding, embedding_model)
          VALUES ('old', ${`r${i}`}, 'memory', ${content}, ${`h${i}`}, ${`[${Array.from(unit(i)).join(",")}]`}::vector, 'test')`
      }
      const store = yield* PgliteStore.makeWith(client, { dimensions: DIMENSIONS })
      expect(yield* client.unsafe(DRIFT)).toEqual([])
      const [deploy] = yield* client<{ readonly df: number }>`SELECT df FROM memory_term_stats WHERE namespace = 'old' AND term = 'deploy'`
      expect(deploy!.df).toBe(2)
      const hits = yield* store.keywordSearch({ namespace: "old", text: "deployment", k: 5 })
      expect(hits.map((h) => h.record.id).sort()).toEqual(["r0", "r1"])
      // Later writes keep them.
      yield* store.insert([newRecord({ content: "deployed at last", namespace: "old" }, unit(5))])
      expect(yield* client.unsafe(DRIFT)).toEqual([])
      expect(Option.isSome(yield* store.get("old", "r2"))).toBe(true)
    }), 60_000)

  it.scopedLive("ranks exactly as scoring every match does when common terms are left to MaxScore", () =>
    Effect.gen(function*() {
      const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
      const sql = yield* PgliteStore.makeWith(client, { dimensions: DIMENSIONS })
      const memory = InMemoryStore.make({ dimensions: DIMENSIONS })
      const namespace = "maxscore"
      // 3,000 records: "common" in all, "middling" in a third, "scarce" in 1%, "unique" in one.
      const items = Array.from({ length: 3000 }, (_, i) =>
        newRecord({
          content: ["common", i % 3 === 0 ? "middling middling" : "", i % 100 === 7 ? "scarce" : "", i === 1234 ? "unique" : "", `filler${i % 17}`, i % 2 ? "common" : ""].join(" "),
          namespace
        }, unit(i)))
      for (let from = 0; from < items.length; from += 500) {
        yield* sql.insert(items.slice(from, from + 500))
        yield* memory.insert(items.slice(from, from + 500))
      }
      for (const [text, k] of [["common scarce", 5], ["common middling unique", 10], ["unique common", 1], ["middling scarce common", 50], ["common", 10], ["middling common", 200]] as const) {
        const got = yield* sql.keywordSearch({ namespace, text, k })
        const want = yield* memory.keywordSearch({ namespace, text, k })
        expect(got.map((h) => h.score.toFixed(9))).toEqual(want.map((h) => h.score.toFixed(9)))
        expect(got.map((h) => h.record.id)).toEqual(want.map((h) => h.record.id))
      }
    }), 120_000)
})
