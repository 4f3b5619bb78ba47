/** What every scenario gets: the options, the data and its ground truth, and where the database is. */
import type { Dataset } from "./dataset.ts"
import type { GroundTruth } from "./groundTruth.ts"
import type { BenchOptions } from "./options.ts"

export interface BenchContext {
  readonly options: BenchOptions
  readonly data: Dataset
  readonly truth: GroundTruth
  /** Text → vector for every row and query: what the precomputed embedder answers. */
  readonly vectors: ReadonlyMap<string, Float32Array>
  /** content_hash per row, for the COPY ceiling. */
  readonly hashes: ReadonlyArray<string>
  /** PostgreSQL with pgvector (DATABASE_URL); scenarios that need it are skipped without. */
  readonly url: string | undefined
  /** Schema names start with this, so runs and tests never meet. */
  readonly prefix: string
  readonly log: (line: string) => void
}
