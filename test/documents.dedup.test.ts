/**
 * Through Memory.ingestDocument on the embedded PostgreSQL: a passage two
 * documents share is kept in each, and a search for it cites both documents; a
 * passage one document repeats is stored once and counted as a duplicate. A
 * database made before migration 0005 takes the new key with its rows.
 */
import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as PgliteClient from "../layers/store/pglite/PgliteClient.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import { migrations } from "../layers/store/sql/migrations.ts"
import { MIGRATIONS_TABLE } from "../layers/store/sql/SqlSchema.ts"
import { contentHash } from "../src/memory/contentHash.ts"
import { DIMENSIONS, newRecord, unit } from "./support/records.ts"
import { DocumentRequest } from "../src/domain/Document.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"

const SHARED = "Every release is signed with the team key and verified before it ships."

const document = (id: string, own: string, repeats = 1) =>
  new DocumentRequest({ id, namespace: "docs", content: [own, ...Array.from({ length: repeats }, () => SHARED)].join("\n\n"), chunkSize: 100, chunkOverlap: 0 })

it.live("a passage shared by two documents stays in both, and its hits cite each", () =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const a = yield* memory.ingestDocument(document("handbook", "The handbook covers onboarding and laptops."))
    const b = yield* memory.ingestDocument(document("runbook", "The runbook covers outages and pager duty."))
    expect([a.chunks, a.duplicates, b.chunks, b.duplicates]).toEqual([2, 0, 2, 0])
    const hits = (yield* memory.search(new SearchRequest({ namespace: "docs", query: SHARED, mode: "keyword", k: 10 }))).hits
    const citing = hits.filter((h) => h.content === SHARED).map((h) => h.metadata["documentId"])
    expect(citing.sort()).toEqual(["handbook", "runbook"])
    // Within one document the passage is stored once.
    const c = yield* memory.ingestDocument(document("faq", "The FAQ covers common questions and their answers.", 2))
    expect([c.chunks, c.duplicates]).toEqual([3, 1])
    // Re-ingesting one document leaves the other's copy alone.
    yield* memory.ingestDocument(document("handbook", "The handbook now covers only laptops.", 0))
    const after = (yield* memory.search(new SearchRequest({ namespace: "docs", query: SHARED, mode: "keyword", k: 10 }))).hits
    expect(after.filter((h) => h.content === SHARED).map((h) => h.metadata["documentId"]).sort()).toEqual(["faq", "runbook"])
  }).pipe(Effect.provide(AgentMemory.layer({
    embedder: HashingEmbedder.layer({ dimensions: 256 }),
    store: ({ dimensions }) => PgliteStore.layer({ dataDir: "memory://", dimensions })
  }))), 120_000)

it.scopedLive("a database made before 0005 upgrades: its chunks kept, the same passage then stored for another document", () =>
  Effect.gen(function*() {
    const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
    const all = migrations({ dimensions: DIMENSIONS, vectorType: "vector" })
    // The migrations before 0005 only (the migrator runs those numbered after the last one applied).
    const before = Object.fromEntries(Object.entries(all).filter(([id]) => id < "0005"))
    yield* Migrator.make({})({ loader: Migrator.fromRecord(before), table: MIGRATIONS_TABLE }).pipe(
      Effect.provideService(SqlClient.SqlClient, client)
    )
    yield* client`INSERT INTO memories (namespace, id, kind, content, content_hash, metadata, embedding, embedding_model)
      VALUES ('old', 'handbook:0', 'knowledge', ${SHARED}, ${contentHash(SHARED)}, '{"documentId": "handbook", "position": 0}'::jsonb,
        ${`[${Array.from(unit(0)).join(",")}]`}::vector, 'test')`
    const store = yield* PgliteStore.makeWith(client, { dimensions: DIMENSIONS })
    const chunk = (documentId: string, id: string) =>
      newRecord({ id, content: SHARED, namespace: "old", kind: "knowledge", metadata: { documentId, position: 0 } }, unit(0))
    const [other] = yield* store.insert([chunk("runbook", "runbook:0")])
    expect([other!.deduplicated, other!.record.id]).toEqual([false, "runbook:0"])
    const [same] = yield* store.insert([chunk("handbook", "handbook:9")])
    expect([same!.deduplicated, same!.record.id]).toEqual([true, "handbook:0"])
  }), 60_000)
