/**
 * Fits the vector storage to the width: pgvector indexes (HNSW and IVFFlat) take
 * `vector` columns up to 2000 dimensions and `halfvec` up to 4000. A wider
 * embedding with an index is stored as halfvec (16-bit floats, half the space;
 * cosine ranking barely moves); wider than 4000 it cannot be indexed at all, so
 * start-up refuses and says which setting to change. Without an index
 * (MEMORY_INDEX=none) any width pgvector stores is kept as asked.
 */
import { Effect } from "effect"
import { StoreUnavailable } from "../../../src/domain/errors.ts"
import type { SqlStoreSettings } from "./SqlStoreConfig.ts"

/** pgvector 0.8's widest indexable column of each type. */
export const INDEXABLE_WIDTH = { vector: 2000, halfvec: 4000 } as const

export const fit = (dimensions: number, settings: SqlStoreSettings): Effect.Effect<SqlStoreSettings, StoreUnavailable> =>
  Effect.gen(function*() {
    if (settings.index._tag === "none" || dimensions <= INDEXABLE_WIDTH[settings.vectorType]) return settings
    if (dimensions > INDEXABLE_WIDTH.halfvec) {
      return yield* new StoreUnavailable({
        message: `MEMORY_DIMENSIONS=${dimensions} is too wide for a ${settings.index._tag} index (pgvector indexes up to ${INDEXABLE_WIDTH.vector} dimensions as vector, ${INDEXABLE_WIDTH.halfvec} as halfvec): set MEMORY_DIMENSIONS to ${INDEXABLE_WIDTH.halfvec} or less, or MEMORY_INDEX=none for exact search`
      })
    }
    yield* Effect.logInfo(`${dimensions} dimensions: stored as halfvec, the widest a ${settings.index._tag} index takes is ${INDEXABLE_WIDTH.vector} as vector`)
    return { ...settings, vectorType: "halfvec" as const }
  })

/**
 * The widest vector kept in the row (STORAGE PLAIN) rather than pgvector's default
 * (EXTERNAL: out of line once a row passes ~2 KB). A row must fit in an 8 KB page,
 * and every other column can move out of line, so 7 KB leaves room to spare:
 * up to 1,748 dimensions as vector, 3,496 as halfvec.
 */
export const INLINE_VECTOR_BYTES = 7000

/** The largest `toast_tuple_target`: a row is compressed or moved out of line only past a page. */
export const ROW_TOAST_TARGET = 8160

/** A vector's size in the row: an 8-byte header, then 4 bytes a dimension (halfvec 2). */
export const vectorBytes = (dimensions: number, vectorType: SqlStoreSettings["vectorType"]) =>
  8 + dimensions * (vectorType === "halfvec" ? 2 : 4)

/**
 * Vectors kept in the row make an exact scan read only the table (no TOAST lookup for
 * every row: ~2× faster at 1024 dimensions), and let the planner price it: it counts
 * table pages, not TOAST, so with vectors out of line a 100k-row exact scan looked like
 * 5,700 pages of work and won over the HNSW index (bench/PERFORMANCE.md, "Vectors in the
 * row"). pgvector's advice for exact search too.
 */
export const storedInline = (dimensions: number, vectorType: SqlStoreSettings["vectorType"]) =>
  vectorBytes(dimensions, vectorType) <= INLINE_VECTOR_BYTES
