/**
 * Vectors are kept in the row (STORAGE PLAIN, rows toasted only past a page) when they fit
 * with room to spare, on both SQL stores: an exact scan then reads no TOAST and the planner
 * prices it by the table's real size. Wider vectors keep pgvector's default, so a row never
 * outgrows its page. Decided from the column as it is: an upgraded table gets the setting at
 * start-up (its stored rows keep their TOAST until rewritten), and a halfvec table made for
 * an index keeps working when started without one.
 */
import { SqlClient } from "@effect/sql"
import * as Migrator from "@effect/sql/Migrator"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as PgliteClient from "../layers/store/pglite/PgliteClient.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { migrations } from "../layers/store/sql/migrations.ts"
import { MIGRATIONS_TABLE } from "../layers/store/sql/SqlSchema.ts"
import { defaultSettings } from "../layers/store/sql/SqlStoreConfig.ts"
import { storedInline } from "../layers/store/sql/VectorStorage.ts"
import type { MemoryStoreService } from "../src/ports/MemoryStore.ts"
import { databaseUrl, freshSchema, postgresAvailable, query } from "./support/postgres.ts"
import { newNamespace, newRecord, unit } from "./support/records.ts"

/** How `embedding` is stored, the table's options, and how many bytes its TOAST relation holds. */
const storage = `SELECT a.attstorage AS storage, coalesce(c.reloptions, '{}') AS options, pg_relation_size(c.reltoastrelid)::int AS toast_bytes
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  WHERE a.attrelid = 'memories'::regclass AND a.attname = 'embedding'`

interface Storage {
  readonly storage: string
  readonly options: ReadonlyArray<string>
  readonly toast_bytes: number
}

const INLINE = { storage: "p", options: ["toast_tuple_target=8160"] }

// A chunk-sized text and some metadata: with a 1024-dim vector the row is ~7 KB, past the 2 KB
// where PostgreSQL would otherwise compress the text and move it, or the vector, out of line.
const passage = (i: number) => `Passage ${i}: ` + "the quarterly report covers revenue, staffing and the new office lease. ".repeat(20)

/** Stores realistic rows, then finds the nearest. */
const storesAndFinds = (store: MemoryStoreService, dimensions: number, namespace = newNamespace()) =>
  Effect.gen(function*() {
    yield* store.insert(Array.from({ length: 20 }, (_, i) =>
      newRecord({ content: passage(i), namespace, tags: ["report", `q${i % 4}`], metadata: { source: "finance", page: i } }, unit(i, 0.1, dimensions))))
    const [hit] = yield* store.search({ namespace, embedding: unit(7, 0, dimensions), k: 1, minScore: 0 })
    expect(hit!.record.content).toBe(passage(7))
  })

describe("which vectors are kept in the row", () => {
  it("up to 7,000 bytes: 1,748 dimensions as vector, 3,496 as halfvec", () => {
    expect(storedInline(1024, "vector")).toBe(true)
    expect(storedInline(1748, "vector")).toBe(true)
    expect(storedInline(1749, "vector")).toBe(false)
    expect(storedInline(3496, "halfvec")).toBe(true)
    expect(storedInline(3497, "halfvec")).toBe(false)
  })
})

describe("pglite", () => {
  const open = (dimensions: number) =>
    Effect.gen(function*() {
      const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
      const store = yield* PgliteStore.makeWith(client, { dimensions })
      const read = Effect.map(client.unsafe<Storage>(storage), ([row]) => row!)
      return { store, read }
    })

  it.scoped("1024 dimensions: vector and text stay in the row, nothing goes to TOAST", () =>
    Effect.gen(function*() {
      const { read, store } = yield* open(1024)
      yield* storesAndFinds(store, 1024)
      expect(yield* read).toEqual({ ...INLINE, toast_bytes: 0 })
    }), 60_000)

  it.scoped("4000 dimensions (halfvec) keep pgvector's out-of-line storage and still store", () =>
    Effect.gen(function*() {
      const { read, store } = yield* open(4000)
      yield* storesAndFinds(store, 4000)
      const row = yield* read
      expect(row.storage).toBe("e")
      expect(row.toast_bytes).toBeGreaterThan(0)
    }), 60_000)

  it.scoped("an upgraded table: set at start-up; rows stored before keep their TOAST, rows after are inline", () =>
    Effect.gen(function*() {
      const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
      // The table as an earlier version made it (pgvector's storage), with rows in it.
      yield* Migrator.make({})({ loader: Migrator.fromRecord(migrations({ dimensions: 1024, vectorType: "vector" })), table: MIGRATIONS_TABLE }).pipe(
        Effect.provideService(SqlClient.SqlClient, client)
      )
      yield* client`INSERT INTO memories (namespace, id, kind, content, content_hash, embedding, embedding_model)
        VALUES ('old', 'r0', 'memory', 'stored before', 'h0', ${`[${Array.from(unit(3, 0, 1024)).join(",")}]`}::vector, 'test')`
      const [before] = yield* client.unsafe<Storage>(storage)
      expect(before!.storage).toBe("e")
      const toastBefore = before!.toast_bytes
      expect(toastBefore).toBeGreaterThan(0)
      const store = yield* PgliteStore.makeWith(client, { dimensions: 1024 })
      const [after] = yield* client.unsafe<Storage>(storage)
      expect(after).toEqual({ ...INLINE, toast_bytes: toastBefore })
      yield* storesAndFinds(store, 1024)
      const [rows] = yield* client.unsafe<Storage>(storage)
      expect(rows!.toast_bytes).toBe(toastBefore)
      const [old] = yield* store.search({ namespace: "old", embedding: unit(3, 0, 1024), k: 1, minScore: 0 })
      expect(old!.record.content).toBe("stored before")
    }), 60_000)

  it.scoped("a 3000-dim table made as halfvec for an index starts without one (the local embedder's default) and searches", () =>
    Effect.gen(function*() {
      const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
      const namespace = newNamespace()
      yield* storesAndFinds(yield* PgliteStore.makeWith(client, { dimensions: 3000 }), 3000, namespace)
      const exact = yield* PgliteStore.makeWith(client, { dimensions: 3000, settings: { ...defaultSettings, index: { _tag: "none" } } })
      const [hit] = yield* exact.search({ namespace, embedding: unit(5, 0, 3000), k: 1, minScore: 0 })
      expect(hit!.record.content).toBe(passage(5))
      yield* storesAndFinds(exact, 3000)
      const [row] = yield* client.unsafe<{ readonly type: string }>(
        `SELECT format_type(atttypid, atttypmod) AS type FROM pg_attribute WHERE attrelid = 'memories'::regclass AND attname = 'embedding'`
      )
      expect(row!.type).toBe("halfvec(3000)")
    }), 60_000)
})

describe.skipIf(!postgresAvailable)("pgvector", () => {
  const open = (dimensions: number) =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const store = yield* PgvectorStore.make({ url, schema, dimensions, settings: defaultSettings })
      const read = query<Storage>(url, storage, [], [`SET search_path = ${schema}, public`])
      return { store, read }
    })

  it.scoped("1024 dimensions: vector and text stay in the row, nothing goes to TOAST", () =>
    Effect.gen(function*() {
      const { read, store } = yield* open(1024)
      yield* storesAndFinds(store, 1024)
      expect(yield* read).toEqual([{ ...INLINE, toast_bytes: 0 }])
    }), 60_000)

  it.scoped("2048 dimensions (halfvec, 4 KB) stay in the row; 4000 keep pgvector's out-of-line storage", () =>
    Effect.gen(function*() {
      const narrow = yield* open(2048)
      yield* storesAndFinds(narrow.store, 2048)
      expect(yield* narrow.read).toEqual([{ ...INLINE, toast_bytes: 0 }])
      const wide = yield* open(4000)
      yield* storesAndFinds(wide.store, 4000)
      const [row] = yield* wide.read
      expect(row!.storage).toBe("e")
      expect(row!.toast_bytes).toBeGreaterThan(0)
    }), 60_000)
})
