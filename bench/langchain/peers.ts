/**
 * The benchmark's own dependencies, kept out of the product's tree:
 * LangChain.js PGVectorStore (whose @langchain/community 1.x resolves against
 * @langchain/core 1.x only with legacy peer-dependency handling), autocannon
 * and pg-copy-streams. They live in this folder's node_modules; the bench
 * installs them on first use (`npm ci --legacy-peer-deps` here), and this
 * module imports them by names that resolve from here, so `npm run typecheck`
 * passes whether or not they are installed.
 */
import { execFileSync } from "node:child_process"
import { existsSync, readFileSync } from "node:fs"
import { fileURLToPath } from "node:url"
import type { Writable } from "node:stream"

const here = fileURLToPath(new URL(".", import.meta.url))
const REQUIRED = ["@langchain/community", "@langchain/core", "autocannon", "pg", "pg-copy-streams"]

export const installed = () => REQUIRED.every((name) => existsSync(`${here}node_modules/${name}/package.json`))

/** Installs the bench's dependencies when any is missing (a one-off: about 15 s and 140 MB). */
export const ensureInstalled = () => {
  if (installed()) return
  console.error("bench: installing the benchmark's own dependencies in bench/langchain (npm ci --legacy-peer-deps)…")
  const npm = process.platform === "win32" ? "npm.cmd" : "npm"
  const lock = existsSync(`${here}package-lock.json`)
  execFileSync(npm, [lock ? "ci" : "install", "--legacy-peer-deps", "--no-audit", "--no-fund", "--loglevel=error"], {
    cwd: here,
    stdio: ["ignore", "inherit", "inherit"]
  })
}

// Names in variables: TypeScript does not try to resolve them (they may not be installed yet).
const load = async <A>(name: string): Promise<A> => {
  ensureInstalled()
  return (await import(name)) as A
}

/** The part of LangChain's PGVectorStore the benchmark uses. */
export interface PGVectorStore {
  addDocuments(documents: ReadonlyArray<LangchainDocument>): Promise<unknown>
  createHnswIndex(config: { readonly dimensions: number; readonly m?: number; readonly efConstruction?: number }): Promise<void>
  similaritySearchVectorWithScore(query: ReadonlyArray<number>, k: number): Promise<Array<[LangchainDocument, number]>>
  /** Embeds the query (embedQuery) and answers the k nearest documents. */
  similaritySearch(query: string, k: number): Promise<Array<LangchainDocument>>
  end(): Promise<void>
}

export interface LangchainDocument {
  readonly pageContent: string
  readonly metadata: Record<string, unknown>
}

export interface LangchainEmbeddings {
  embedDocuments(texts: ReadonlyArray<string>): Promise<Array<Array<number>>>
  embedQuery(text: string): Promise<Array<number>>
}

export interface PGVectorStoreConfig {
  /** Handed to `new pg.Pool(…)`: `options` carries session settings (`-c hnsw.ef_search=40`). */
  readonly postgresConnectionOptions: { readonly connectionString: string; readonly max?: number; readonly options?: string }
  readonly schemaName: string
  readonly tableName: string
  readonly dimensions: number
  readonly distanceStrategy: "cosine"
}

export interface Langchain {
  readonly PGVectorStore: { initialize(embeddings: LangchainEmbeddings, config: PGVectorStoreConfig): Promise<PGVectorStore> }
  readonly Document: new(fields: { pageContent: string; metadata: Record<string, unknown> }) => LangchainDocument
  readonly version: string
}

export const langchain = async (): Promise<Langchain> => {
  const { PGVectorStore } = await load<Pick<Langchain, "PGVectorStore">>("@langchain/community/vectorstores/pgvector")
  const { Document } = await load<Pick<Langchain, "Document">>("@langchain/core/documents")
  const { version } = JSON.parse(readFileSync(`${here}node_modules/@langchain/community/package.json`, "utf8")) as { version: string }
  return { PGVectorStore, Document, version }
}

/** pg-copy-streams' `from`: a Writable that a pg client runs as `COPY … FROM STDIN`. */
export type CopyFrom = (sql: string) => Writable

export const copyFrom = async (): Promise<CopyFrom> => (await load<{ from: CopyFrom }>("pg-copy-streams")).from

/** The autocannon CLI entry point (for a load generator in a process of its own). */
export const autocannonEntry = () => {
  ensureInstalled()
  return `${here}node_modules/autocannon/autocannon.js`
}
