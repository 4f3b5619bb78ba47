import { describe } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import { MemoryStore } from "../src/ports/MemoryStore.ts"
import { storeConformance } from "./store.conformance.ts"
import { databaseUrl, freshSchema, postgresAvailable } from "./support/postgres.ts"
import { DIMENSIONS } from "./support/records.ts"

const pgvectorStore = (settings?: PgvectorStore.PgvectorStoreOptions["settings"]) =>
  Layer.scoped(
    MemoryStore,
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      return yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS, settings })
    })
  )

describe.skipIf(!postgresAvailable)("pgvector", () => {
  storeConformance("pgvector (hnsw, vector)", pgvectorStore())
  storeConformance("pgvector (ivfflat, halfvec)", pgvectorStore({ vectorType: "halfvec", index: { _tag: "ivfflat", lists: 2 }, pgSettings: {} }))
  storeConformance("pgvector (no index)", pgvectorStore({ vectorType: "vector", index: { _tag: "none" }, pgSettings: { work_mem: "64MB" } }))
})
