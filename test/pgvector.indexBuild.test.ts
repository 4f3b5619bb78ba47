/**
 * The vector index build gets the memory it needs: pgvector builds an HNSW graph
 * in memory only while it fits in maintenance_work_mem, and the server's default
 * (64MB) sends a 100,000 × 384 build to the ~3× slower on-disk path. The build
 * session sizes it (MEMORY_INDEX_BUILD_MEMORY, `auto` by default).
 */
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Effect, Logger } from "effect"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { autoBuildMemoryBytes } from "../layers/store/sql/SqlSchema.ts"
import { settingsConfigFor, type SqlStoreSettings } from "../layers/store/sql/SqlStoreConfig.ts"
import { databaseUrl, freshSchema, postgresAvailable, query } from "./support/postgres.ts"
import { DIMENSIONS, newRecord, unit } from "./support/records.ts"

const noIndex: SqlStoreSettings = { vectorType: "vector", index: { _tag: "none" }, pgSettings: {} }
const hnsw = (indexBuildMemory: string): SqlStoreSettings => ({
  vectorType: "vector",
  index: { _tag: "hnsw", m: 16, efConstruction: 64, efSearch: 40 },
  pgSettings: {},
  indexBuildMemory
})

/** Runs the effect with its log lines collected. */
const withLogs = <A, E, R>(effect: Effect.Effect<A, E, R>) =>
  Effect.gen(function*() {
    const lines: Array<string> = []
    const logger = Logger.make(({ message }) => lines.push([message].flat().join(" ")))
    const result = yield* effect.pipe(Effect.provide(Logger.replace(Logger.defaultLogger, logger)))
    return { result, lines }
  })

describe("index build memory", () => {
  it("auto: the vectors plus ~600 bytes of links a row, half again for room, capped at 4GB", () => {
    expect(autoBuildMemoryBytes(100_000, 384, "vector")).toBe(Math.ceil(1.5 * 100_000 * (384 * 4 + 600)))
    expect(autoBuildMemoryBytes(100_000, 384, "halfvec")).toBe(Math.ceil(1.5 * 100_000 * (384 * 2 + 600)))
    expect(autoBuildMemoryBytes(50_000_000, 1536, "vector")).toBe(4 * 2 ** 30)
    expect(autoBuildMemoryBytes(0, 384, "vector")).toBe(0)
  })

  it.effect("MEMORY_INDEX_BUILD_MEMORY takes auto or a PostgreSQL amount; anything else is a configuration error", () =>
    Effect.gen(function*() {
      const read = (value: string | undefined) =>
        settingsConfigFor({}).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(new Map(value === undefined ? [] : [["MEMORY_INDEX_BUILD_MEMORY", value]]))))
      expect((yield* read(undefined)).indexBuildMemory).toBe("auto")
      expect((yield* read("2GB")).indexBuildMemory).toBe("2GB")
      expect((yield* read("512MB")).indexBuildMemory).toBe("512MB")
      for (const bad of ["lots", "1.5GB", "-1GB", "0", "1 GB", "1GB; DROP TABLE memories"]) {
        const error = yield* Effect.flip(read(bad))
        expect(String(error)).toContain("MEMORY_INDEX_BUILD_MEMORY")
      }
    }))
})

describe.skipIf(!postgresAvailable)("pgvector index build memory", () => {
  it.scopedLive("an index built at start-up on a loaded table runs with the memory asked for, and the index serves searches", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const open = (settings: SqlStoreSettings) =>
        PgvectorStore.make({ url, schema, dimensions: DIMENSIONS, settings }).pipe(Effect.scoped)
      // Loaded without an index, as a bulk import would be.
      yield* Effect.gen(function*() {
        const store = yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS, settings: noIndex })
        yield* store.insert(Array.from({ length: 300 }, (_, i) => newRecord({ content: `row ${i}`, namespace: "ns" }, unit(i, (i % 7) / 10))))
      }).pipe(Effect.scoped)

      // An explicit amount is set for the build, whatever the table's size.
      const explicit = yield* withLogs(open(hnsw("96MB")))
      expect(explicit.lines).toContain("index build with maintenance_work_mem = 96MB")
      expect(explicit.lines.some((l) => l.startsWith("building HNSW index"))).toBe(true)
      const indexes = yield* query<{ name: string }>(url,
        `SELECT indexname AS name FROM pg_indexes WHERE schemaname = $1 AND indexname LIKE 'memories_embedding_hnsw%'`, [schema])
      expect(indexes.map((i) => i.name)).toEqual(["memories_embedding_hnsw_m16_efc64"])

      // auto on 300 rows needs far less than the server's own setting: nothing is set.
      yield* query(url, `DROP INDEX "${schema}".memories_embedding_hnsw_m16_efc64`)
      const auto = yield* withLogs(open(hnsw("auto")))
      expect(auto.lines.some((l) => l.startsWith("index build with"))).toBe(false)
      expect(auto.lines.some((l) => l.startsWith("building HNSW index"))).toBe(true)

      // The setting was the build session's own: the serving pool still has the server's value.
      const found = yield* Effect.gen(function*() {
        const store = yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS, settings: hnsw("auto") })
        return yield* store.search({ namespace: "ns", k: 3, embedding: unit(5, 0.5), minScore: 0 })
      }).pipe(Effect.scoped)
      expect(found).toHaveLength(3)
    }))
})
