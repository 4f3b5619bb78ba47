/** The benchmark's flags: `npm run bench -- [scenario…] [--rows N] [--quick] …` (see bench/README.md). */

export const SCENARIOS = ["ingest", "search", "filtered", "cache", "http", "pglite", "keyword"] as const
export type Scenario = (typeof SCENARIOS)[number]

export interface BenchOptions {
  readonly scenarios: ReadonlyArray<Scenario>
  readonly rows: number
  readonly dims: number
  readonly seed: number
  readonly clusters: number
  readonly queries: number
  /** Queries (of `queries`) that the filtered scenario asks, per selectivity. */
  readonly filteredQueries: number
  readonly k: number
  readonly ef: ReadonlyArray<number>
  /** ef_search the product ships with (MEMORY_HNSW_EF_SEARCH's default): the goals are judged there. */
  readonly defaultEf: number
  readonly clients: ReadonlyArray<number>
  /** Seconds per search measurement (after a warm-up). */
  readonly duration: number
  /** agent-memory's ingest settings to compare (MEMORY_BATCH_SIZE × MEMORY_BATCH_CONCURRENCY); the product's defaults first. */
  readonly batches: ReadonlyArray<{ readonly size: number; readonly concurrency: number }>
  /** The settings used where one is needed (the last of `batches`). */
  readonly batchSize: number
  readonly batchConcurrency: number
  readonly copyStreams: ReadonlyArray<number>
  readonly langchainConcurrency: ReadonlyArray<number>
  /** LangChain.js PGVectorStore beside agent-memory: in ingest (addDocuments) and in search (similaritySearch). */
  readonly langchain: boolean
  /** Ingest through the server process too (NDJSON to POST /v1/memories/batch), in the pass without an index. */
  readonly httpIngest: boolean
  /** The second ingest pass, into tables whose HNSW index already exists. */
  readonly live: boolean
  /** Ingest rounds after the warm-up round, every system once a round (interleaved); figures are medians. */
  readonly ingestRounds: number
  readonly httpDuration: number
  readonly httpConnections: number
  readonly pgliteRows: number
  /** Sizes of the keyword scenario's real-text corpus (both stores at each). */
  readonly keywordRows: ReadonlyArray<number>
  /** Queries the keyword scenario asks in each mode, the same at every size. */
  readonly keywordQueries: number
  readonly out: string
  readonly keep: boolean
  readonly quick: boolean
  readonly redisUrl: string | undefined
}

export const defaults: BenchOptions = {
  scenarios: SCENARIOS,
  rows: 100_000,
  dims: 384,
  seed: 42,
  clusters: 100,
  queries: 500,
  filteredQueries: 200,
  k: 10,
  ef: [20, 40, 80, 160],
  defaultEf: 40,
  clients: [1, 4],
  duration: 5,
  batches: [{ size: 100, concurrency: 4 }, { size: 1000, concurrency: 2 }],
  batchSize: 1000,
  batchConcurrency: 2,
  copyStreams: [1, 2],
  langchainConcurrency: [1, 4],
  langchain: true,
  httpIngest: true,
  live: true,
  ingestRounds: 3,
  httpDuration: 10,
  httpConnections: 8,
  pgliteRows: 10_000,
  keywordRows: [5_000, 10_000, 100_000],
  keywordQueries: 150,
  out: "results",
  keep: false,
  quick: false,
  redisUrl: undefined
}

/** Finishes in a few minutes (2.3 on the 2-core machine): a few thousand rows, one-second measurements. */
export const quick: Partial<BenchOptions> = {
  rows: 5_000,
  clusters: 20,
  queries: 100,
  filteredQueries: 100,
  duration: 1,
  httpDuration: 2,
  pgliteRows: 1_000,
  keywordRows: [1_000],
  keywordQueries: 50,
  langchainConcurrency: [1],
  ingestRounds: 1,
  quick: true
}

/** Above this many rows the live-index pass (an HNSW insert per row, ~2k rows/s on 2 cores) is left out unless asked for. */
export const LIVE_ROWS_LIMIT = 250_000

export class UsageError extends Error {}

const list = (text: string, name: string) =>
  text.split(",").map((s) => {
    const n = Number(s.trim())
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name}: "${s}" is not a whole number of 1 or more`)
    return n
  })

export const parse = (argv: ReadonlyArray<string>, env: NodeJS.ProcessEnv = process.env): BenchOptions => {
  const scenarios: Array<Scenario> = []
  const given: Record<string, string | true> = {}
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg.startsWith("--")) {
      const [name, inline] = arg.slice(2).split("=", 2) as [string, string | undefined]
      const next = argv[i + 1]
      if (inline !== undefined) given[name] = inline
      else if (next !== undefined && !next.startsWith("--") && !(SCENARIOS as ReadonlyArray<string>).includes(next)) given[name] = argv[++i]!
      else given[name] = true
    } else if ((SCENARIOS as ReadonlyArray<string>).includes(arg)) {
      scenarios.push(arg as Scenario)
    } else {
      throw new UsageError(`unknown scenario "${arg}" (known: ${SCENARIOS.join(", ")})`)
    }
  }
  const base: BenchOptions = { ...defaults, ...(given["quick"] ? quick : {}) }
  const int = (name: string, fallback: number) => {
    const v = given[name]
    if (v === undefined) return fallback
    const n = Number(v)
    if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} takes a whole number of 1 or more`)
    return n
  }
  const ints = (name: string, fallback: ReadonlyArray<number>) => {
    const v = given[name]
    return v === undefined || v === true ? fallback : list(v, name)
  }
  const flag = (name: string, fallback: boolean) => (given[name] === undefined ? (given[`no-${name}`] ? false : fallback) : true)
  const known = new Set([
    "quick", "rows", "dims", "seed", "clusters", "queries", "filtered-queries", "k", "ef", "default-ef", "clients", "duration",
    "batch", "copy-streams", "langchain-concurrency", "langchain", "no-langchain", "http-ingest", "no-http-ingest", "live", "no-live", "ingest-rounds",
    "http-duration", "http-connections", "pglite-rows", "keyword-rows", "keyword-queries", "out", "keep", "redis-url"
  ])
  for (const name of Object.keys(given)) if (!known.has(name)) throw new UsageError(`unknown flag --${name}`)
  const rows = int("rows", base.rows)
  const batches = typeof given["batch"] === "string"
    ? given["batch"].split(",").map((b) => {
      const [size, concurrency] = b.split("x").map(Number)
      if (!Number.isInteger(size) || !Number.isInteger(concurrency) || size! < 1 || concurrency! < 1) {
        throw new UsageError(`--batch: "${b}" is not SIZExCONCURRENCY, e.g. 1000x2`)
      }
      return { size: size!, concurrency: concurrency! }
    })
    : base.batches
  const queries = int("queries", base.queries)
  return {
    ...base,
    scenarios: scenarios.length > 0 ? scenarios : SCENARIOS,
    rows,
    dims: int("dims", base.dims),
    seed: given["seed"] === undefined ? base.seed : Number(given["seed"]),
    clusters: int("clusters", base.clusters),
    queries,
    filteredQueries: Math.min(queries, int("filtered-queries", base.filteredQueries)),
    k: int("k", base.k),
    ef: ints("ef", base.ef),
    defaultEf: int("default-ef", base.defaultEf),
    clients: ints("clients", base.clients),
    duration: int("duration", base.duration),
    batches,
    batchSize: batches[batches.length - 1]!.size,
    batchConcurrency: batches[batches.length - 1]!.concurrency,
    copyStreams: ints("copy-streams", base.copyStreams),
    langchainConcurrency: ints("langchain-concurrency", base.langchainConcurrency),
    langchain: flag("langchain", base.langchain),
    httpIngest: flag("http-ingest", base.httpIngest),
    live: given["live"] !== undefined ? true : given["no-live"] !== undefined ? false : rows <= LIVE_ROWS_LIMIT,
    ingestRounds: int("ingest-rounds", base.ingestRounds),
    httpDuration: int("http-duration", base.httpDuration),
    httpConnections: int("http-connections", base.httpConnections),
    pgliteRows: int("pglite-rows", base.pgliteRows),
    keywordRows: ints("keyword-rows", base.keywordRows),
    keywordQueries: int("keyword-queries", base.keywordQueries),
    out: typeof given["out"] === "string" ? given["out"] : base.out,
    keep: given["keep"] !== undefined,
    redisUrl: typeof given["redis-url"] === "string" ? given["redis-url"] : env["REDIS_URL"] ?? base.redisUrl
  }
}
