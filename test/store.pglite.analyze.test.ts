/** PGlite has no autovacuum: the store refreshes the planner's statistics itself, so searches keep using the vector index. */
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as PgliteClient from "../layers/store/pglite/PgliteClient.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import { newRecord, unit } from "./support/records.ts"

it.scopedLive("analyzes the table after enough writes, and the planner then picks the HNSW index", () =>
  Effect.gen(function*() {
    const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
    const store = yield* PgliteStore.makeWith(client, { dimensions: 8, analyzeInterval: "50 millis" })
    yield* store.insert(Array.from({ length: 400 }, (_, i) => newRecord({ content: `row ${i}`, namespace: "ns" }, unit(i % 8, (i % 13) / 13))))
    yield* Effect.sleep("300 millis")
    const [table] = yield* client<{ readonly rows: number }>`SELECT reltuples::float8 AS rows FROM pg_class WHERE relname = 'memories'`
    expect(table!.rows).toBe(400)
    const plan = yield* client<{ readonly "QUERY PLAN": string }>`
      EXPLAIN SELECT id FROM memories WHERE namespace = 'ns' AND (expires_at IS NULL OR expires_at > now())
      ORDER BY embedding <=> '[1,0,0,0,0,0,0,0]'::vector LIMIT 10`
    expect(plan.map((r) => r["QUERY PLAN"]).join("\n")).toContain("memories_embedding_hnsw")
  }))
