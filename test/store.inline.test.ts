/**
 * Vectors are kept in the row (STORAGE PLAIN) when they fit with room to spare,
 * on both SQL stores: an exact scan then reads no TOAST and the planner prices it
 * by the table's real size. Wider vectors keep pgvector's default (out of line), so
 * a row never outgrows its page.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import * as PgliteClient from "../layers/store/pglite/PgliteClient.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { defaultSettings } from "../layers/store/sql/SqlStoreConfig.ts"
import { storedInline } from "../layers/store/sql/VectorStorage.ts"
import type { MemoryStoreService } from "../src/ports/MemoryStore.ts"
import { databaseUrl, freshSchema, postgresAvailable, query } from "./support/postgres.ts"
import { newNamespace, newRecord, unit } from "./support/records.ts"

/** How `embedding` is stored, and how many bytes the table's TOAST relation holds. */
const storage = `SELECT a.attstorage AS storage, pg_relation_size(c.reltoastrelid)::int AS toast_bytes
  FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
  WHERE a.attrelid = 'memories'::regclass AND a.attname = 'embedding'`

interface Storage {
  readonly storage: string
  readonly toast_bytes: number
}

/** Stores rows whose vector alone passes the ~2 KB out-of-line threshold, then finds the nearest. */
const storesAndFinds = (store: MemoryStoreService, dimensions: number) =>
  Effect.gen(function*() {
    const namespace = newNamespace()
    yield* store.insert(Array.from({ length: 20 }, (_, i) => newRecord({ content: `row ${i}`, namespace }, unit(i, 0.1, dimensions))))
    const [hit] = yield* store.search({ namespace, embedding: unit(7, 0, dimensions), k: 1, minScore: 0 })
    expect(hit!.record.content).toBe("row 7")
  })

describe("which vectors are kept in the row", () => {
  it("up to 7,000 bytes: 1,536 dimensions as vector, 3,072 as halfvec; not 2,000 as vector or 4,000 as halfvec", () => {
    expect(storedInline(1024, "vector")).toBe(true)
    expect(storedInline(1536, "vector")).toBe(true)
    expect(storedInline(3072, "halfvec")).toBe(true)
    expect(storedInline(2000, "vector")).toBe(false)
    expect(storedInline(4000, "halfvec")).toBe(false)
  })
})

describe("pglite", () => {
  it.scoped("1024 dimensions: the vector stays in the row, nothing goes to TOAST", () =>
    Effect.gen(function*() {
      const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
      const store = yield* PgliteStore.makeWith(client, { dimensions: 1024 })
      yield* storesAndFinds(store, 1024)
      const [row] = yield* client.unsafe<Storage>(storage)
      expect(row).toEqual({ storage: "p", toast_bytes: 0 })
    }), 60_000)

  it.scoped("4000 dimensions (halfvec) keep pgvector's out-of-line storage and still store", () =>
    Effect.gen(function*() {
      const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
      const store = yield* PgliteStore.makeWith(client, { dimensions: 4000 })
      yield* storesAndFinds(store, 4000)
      const [row] = yield* client.unsafe<Storage>(storage)
      expect(row!.storage).toBe("e")
      expect(row!.toast_bytes).toBeGreaterThan(0)
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

  it.scoped("1024 dimensions: the vector stays in the row, nothing goes to TOAST", () =>
    Effect.gen(function*() {
      const { read, store } = yield* open(1024)
      yield* storesAndFinds(store, 1024)
      expect(yield* read).toEqual([{ storage: "p", toast_bytes: 0 }])
    }), 60_000)

  it.scoped("2048 dimensions (halfvec, 4 KB) stay in the row; 4000 keep pgvector's out-of-line storage", () =>
    Effect.gen(function*() {
      const narrow = yield* open(2048)
      yield* storesAndFinds(narrow.store, 2048)
      expect(yield* narrow.read).toEqual([{ storage: "p", toast_bytes: 0 }])
      const wide = yield* open(4000)
      yield* storesAndFinds(wide.store, 4000)
      const [row] = yield* wide.read
      expect(row!.storage).toBe("e")
      expect(row!.toast_bytes).toBeGreaterThan(0)
    }), 60_000)
})
