/** The shape of results.json: every figure of one run, with the machine and the flags it ran with. */
import type { CacheResult } from "./cache.ts"
import type { FilteredFigure } from "./filtered.ts"
import type { HttpFigure } from "./http.ts"
import type { IngestResult } from "./ingest.ts"
import type { KeywordResult } from "./keyword.ts"
import type { Machine } from "./machine.ts"
import type { BenchOptions } from "./options.ts"
import type { PgliteResult } from "./pglite.ts"
import type { SearchResult } from "./search.ts"

export interface Goal {
  readonly goal: string
  readonly target: string
  readonly measured: string
  readonly met: boolean | undefined
}

export interface Results {
  readonly startedAt: string
  readonly finishedAt: string
  readonly seconds: number
  readonly command: string
  readonly machine: Machine
  readonly options: BenchOptions
  readonly dataset: {
    readonly rows: number
    readonly dims: number
    readonly clusters: number
    readonly seed: number
    readonly queries: number
    readonly generateSeconds: number
    readonly truthSeconds: number
  }
  readonly ingest?: IngestResult | undefined
  readonly search?: SearchResult | undefined
  readonly filtered?: ReadonlyArray<FilteredFigure> | undefined
  readonly cache?: CacheResult | undefined
  readonly http?: ReadonlyArray<HttpFigure> | undefined
  readonly pglite?: PgliteResult | undefined
  readonly keyword?: KeywordResult | undefined
  readonly errors: ReadonlyArray<{ readonly scenario: string; readonly message: string }>
  readonly goals: ReadonlyArray<Goal>
}
