/**
 * The same rows through LangChain.js PGVectorStore (@langchain/community),
 * used as its documentation shows: `PGVectorStore.initialize` makes its table,
 * `addDocuments` embeds (here: answers the precomputed vectors) and inserts in
 * chunks of 500 rows. `concurrency` callers each add slices of 5,000
 * documents, for a comparison that does not hold LangChain to one connection.
 */
import type { Dataset } from "./dataset.ts"
import * as Db from "./db.ts"
import { langchain, type LangchainEmbeddings, type PGVectorStore } from "./langchain/peers.ts"
import * as Stack from "./stack.ts"

const SLICE = 5_000
export const TABLE = "langchain_bench"

export interface LangchainOptions {
  readonly url: string
  readonly schema: string
  readonly data: Dataset
  readonly vectors: ReadonlyMap<string, Float32Array>
  readonly rows: number
  readonly concurrency: number
  /** Create LangChain's HNSW index (`createHnswIndex`, the product's m and ef_construction) before the load. */
  readonly liveIndex: boolean
}

/** Its pg pool: 10 connections unless asked, and session settings (`-c name=value …`) if any. */
export interface PoolOptions {
  readonly max?: number | undefined
  /** Connections kept open, and how long an idle one is kept (pg's defaults: 0 and 10 s). */
  readonly min?: number | undefined
  readonly idleTimeoutMillis?: number | undefined
  readonly options?: string | undefined
}

/** Opens a PGVectorStore over a schema (its table made when missing). */
export const open = async (options: Pick<LangchainOptions, "url" | "schema" | "data" | "vectors">, pool: PoolOptions = {}): Promise<PGVectorStore> => {
  const lc = await langchain()
  const lookup = (text: string) => {
    const v = options.vectors.get(text)
    if (!v) throw new Error(`no precomputed vector for "${text.slice(0, 40)}"`)
    return Array.from(v)
  }
  const embeddings: LangchainEmbeddings = {
    embedDocuments: async (texts) => texts.map(lookup),
    embedQuery: async (text) => lookup(text)
  }
  return lc.PGVectorStore.initialize(embeddings, {
    postgresConnectionOptions: {
      connectionString: options.url,
      max: pool.max ?? 10,
      ...(pool.min === undefined ? {} : { min: pool.min }),
      ...(pool.idleTimeoutMillis === undefined ? {} : { idleTimeoutMillis: pool.idleTimeoutMillis }),
      ...(pool.options === undefined ? {} : { options: pool.options })
    },
    schemaName: options.schema,
    tableName: TABLE,
    dimensions: options.data.dims,
    distanceStrategy: "cosine"
  })
}

export const version = async () => (await langchain()).version

/** Loads rows [0, rows); answers the seconds it took and the rows the table holds after. */
export const langchainIngest = async (options: LangchainOptions) => {
  const lc = await langchain()
  await Db.createSchema(options.url, options.schema)
  const store = await open(options)
  try {
    if (options.liveIndex) await store.createHnswIndex({ dimensions: options.data.dims, m: Stack.HNSW_M, efConstruction: Stack.HNSW_EF_CONSTRUCTION })
    await Db.checkpoint(options.url)
    let next = 0
    const worker = async () => {
      for (;;) {
        const start = next
        next += SLICE
        if (start >= options.rows) return
        const documents = []
        for (let row = start; row < Math.min(options.rows, start + SLICE); row++) {
          documents.push(new lc.Document({ pageContent: options.data.texts[row]!, metadata: options.data.metadata(row) }))
        }
        await store.addDocuments(documents)
      }
    }
    const started = performance.now()
    await Promise.all(Array.from({ length: options.concurrency }, worker))
    const seconds = (performance.now() - started) / 1000
    const [count] = await Db.rows<{ n: string }>(options.url, `SELECT count(*)::text AS n FROM ${Db.quoteIdent(options.schema)}.${TABLE}`)
    return { seconds, rows: Number(count?.n ?? 0) }
  } finally {
    await store.end()
  }
}
