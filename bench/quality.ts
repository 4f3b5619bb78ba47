/**
 * `npm run bench -- quality`: ranking quality on the labelled set
 * (bench/quality/corpus.ts) through the product's own API with its offline
 * defaults (the local hashing embedder), per mode and per store, beside a
 * textbook BM25 over PostgreSQL's lexemes (`simple` and `english`), and the
 * studies that chose the defaults: BM25's parameters and length, the hybrid
 * fusion and its list depth, and the vector mode's score floor.
 */
import type { SqlClient } from "@effect/sql"
import { Context, Effect, Layer, Redacted, Stream } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import { englishTerms } from "../layers/store/memory/EnglishTerms.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import * as PgliteClient from "../layers/store/pglite/PgliteClient.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import * as Bm25 from "../layers/store/Bm25.ts"
import { SearchRequest, type SearchMode } from "../src/domain/Search.ts"
import { type Fusion, fuse, HYBRID_DEPTH, DEFAULT_FUSION } from "../src/memory/fusion.ts"
import { Memory, VECTOR_FLOOR } from "../src/memory/Memory.ts"
import { Embedder } from "../src/ports/Embedder.ts"
import { MemoryStore } from "../src/ports/MemoryStore.ts"
import * as Db from "./db.ts"
import { type Corpus, type LabelledQuery, makeCorpus, type Part } from "./quality/corpus.ts"
import { quality, type Quality } from "./quality/metrics.ts"
import { referenceBm25 } from "./quality/referenceBm25.ts"
import { table } from "./stats.ts"

const NAMESPACE = "quality"
const MODES: ReadonlyArray<SearchMode> = ["vector", "keyword", "hybrid"]
const DEPTH = 200

export interface QualityOptions {
  readonly url: string | undefined
  readonly log: (line: string) => void
  readonly seed?: number | undefined
  /** Which stores to run (default: pglite, memory, and pgvector when DATABASE_URL is set). */
  readonly stores?: ReadonlyArray<string> | undefined
}

export interface QualityResult {
  readonly records: number
  readonly queries: number
  readonly reference: ReadonlyArray<{ readonly name: string } & Quality>
  readonly modes: ReadonlyArray<{ readonly store: string; readonly mode: string } & Quality>
  readonly fusion: ReadonlyArray<{ readonly name: string; readonly depth: number } & Quality>
  readonly floors: ReadonlyArray<{ readonly floor: number; readonly hitsPerQuery: number } & Quality>
}

const f3 = (x: number) => x.toFixed(3)
const qualityRow = (name: string, q: Quality) => [name, f3(q.ndcg10), f3(q.recall10), f3(q.recall100)]

/** Records with the same text are one record (the store deduplicates them); judgements follow the one kept. */
const canonical = (corpus: Corpus) => {
  const first = new Map<string, string>()
  const alias = new Map<string, string>()
  const records = corpus.records.filter((r) => {
    if (r.kind === "message") return true
    const key = `${r.kind}:${r.content}`
    const holder = first.get(key)
    if (holder === undefined) {
      first.set(key, r.id)
      return true
    }
    alias.set(r.id, holder)
    return false
  })
  const queries = corpus.queries.map((q): LabelledQuery => {
    const relevant = new Map<string, number>()
    for (const [id, grade] of q.relevant) {
      const kept = alias.get(id) ?? id
      relevant.set(kept, Math.max(grade, relevant.get(kept) ?? 0))
    }
    return { ...q, relevant }
  })
  return { records, queries }
}

/** Term → frequency per text, as `to_tsvector(config, text)` makes them. */
const lexemes = (client: SqlClient.SqlClient, texts: ReadonlyArray<string>, config: "simple" | "english") =>
  Effect.gen(function*() {
    const out = texts.map(() => new Map<string, number>())
    for (let from = 0; from < texts.length; from += 500) {
      const rows = yield* client<{ readonly i: number; readonly lexeme: string; readonly tf: number }>`
        SELECT (d.i - 1)::int AS i, u.lexeme, coalesce(array_length(u.positions, 1), 1)::int AS tf
        FROM json_array_elements_text(${JSON.stringify(texts.slice(from, from + 500))}::json) WITH ORDINALITY AS d(content, i),
          unnest(to_tsvector(${config}::regconfig, d.content)) u`
      for (const row of rows) out[from + row.i]!.set(row.lexeme, row.tf)
    }
    return out
  })

const stack = (store: (dimensions: number) => Layer.Layer<MemoryStore, unknown>): Layer.Layer<Memory | MemoryStore | Embedder, unknown> =>
  AgentMemory.layer({
    embedder: HashingEmbedder.layer(),
    store: ({ dimensions }) => store(dimensions),
    cache: TieredCache.layer({ ...TieredCache.defaultOptions, entries: { searches: 0, embeddings: 0, records: 0 } })
  })

interface Hit {
  readonly id: string
  readonly content: string
  readonly score: number
}

type Lists = ReadonlyArray<Record<SearchMode, ReadonlyArray<Hit>>>

/** Ingests the set, then asks every query in every mode (k = DEPTH, and the product's defaults). */
const runStore = (name: string, layer: Layer.Layer<Memory | MemoryStore | Embedder, unknown>, set: ReturnType<typeof canonical>, log: (line: string) => void) =>
  Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(layer)
    const memory = Context.get(context, Memory)
    const store = Context.get(context, MemoryStore)
    const embedder = Context.get(context, Embedder)
    const started = performance.now()
    const result = yield* memory.storeMany(Stream.fromIterable(set.records.map((r, index) => ({
      index,
      value: { content: r.content, id: r.id, kind: r.kind, ...(r.sessionId === undefined ? {} : { sessionId: r.sessionId }) }
    }))), { namespace: NAMESPACE })
    log(`  ${name}: stored ${result.stored} records in ${((performance.now() - started) / 1000).toFixed(1)} s`)
    const defaults: Array<Record<SearchMode, ReadonlyArray<Hit>>> = []
    const raw: Array<Record<SearchMode, ReadonlyArray<Hit>>> = []
    for (const q of set.queries) {
      const ask = (mode: SearchMode, k: number, minScore?: number) =>
        Effect.map(memory.search(new SearchRequest({
          query: q.text, namespace: NAMESPACE, k, mode,
          ...(minScore === undefined ? {} : { minScore }),
          ...(q.sessionId === undefined ? {} : { sessionId: q.sessionId })
        })), (r) => r.hits)
      // The raw vector list, below the product's floor too: from the store itself.
      const embedding = yield* embedder.embed(q.text)
      const vector = (yield* store.search({
        namespace: NAMESPACE, k: DEPTH, embedding, minScore: 0, ...(q.sessionId === undefined ? {} : { sessionId: q.sessionId })
      })).map((h): Hit => ({ id: h.record.id, content: h.record.content, score: h.score }))
      const keyword = yield* ask("keyword", DEPTH)
      defaults.push({ vector: yield* ask("vector", 100), keyword: keyword.slice(0, 100), hybrid: yield* ask("hybrid", 100) })
      raw.push({ vector, keyword, hybrid: [] })
    }
    return { defaults: defaults as Lists, raw: raw as Lists }
  }))

export const qualityScenario = (options: QualityOptions) =>
  Effect.gen(function*() {
    const { log } = options
    const set = canonical(makeCorpus(options.seed))
    const judgements = set.queries.map((q) => q.relevant)
    const parts = [...new Set(set.queries.map((q) => q.part))]
    log(`quality: ${set.records.length} records, ${set.queries.length} queries (${parts.map((p) => `${set.queries.filter((q) => q.part === p).length} ${p}`).join(", ")})`)

    // The reference: BM25 over PostgreSQL's lexemes, apart from the product.
    const sessionOf = new Map(set.records.map((r) => [r.id, r.sessionId]))
    const reference = yield* Effect.scoped(Effect.gen(function*() {
      const { client } = yield* PgliteClient.make({ dataDir: "memory://" })
      const rows: Array<{ name: string } & Quality> = []
      for (const config of ["simple", "english"] as const) {
        const docTerms = yield* lexemes(client, set.records.map((r) => r.content), config)
        const queryTerms = yield* lexemes(client, set.queries.map((q) => q.text), config)
        const docs = set.records.map((r, i) => ({ id: r.id, terms: docTerms[i]! }))
        for (const [k1, b] of [[0.9, 0.4], [1.2, 0.75]] as const) {
          for (const length of ["tokens", "distinct"] as const) {
            const rank = referenceBm25(docs, { k1, b, length })
            // A chat question asks within its conversation: rank the whole set (its statistics), keep the session's.
            const rankings = queryTerms.map((terms, i) => {
              const session = set.queries[i]!.sessionId
              return session === undefined
                ? rank([...terms.keys()], 100)
                : rank([...terms.keys()], docs.length).filter((id) => sessionOf.get(id) === session).slice(0, 100)
            })
            rows.push({ name: `BM25 ${config} k1=${k1} b=${b} length=${length}`, ...quality(rankings, judgements) })
          }
        }
      }
      return rows
    }))
    log(table(["reference (in-benchmark BM25)", "nDCG@10", "recall@10", "recall@100"], reference.map((r) => qualityRow(r.name, r))))

    const schema = `bench_quality_${process.pid}`
    const url = options.url
    const wanted = options.stores ?? ["pglite", "memory", ...(url ? ["pgvector"] : [])]
    const stores: Array<[string, Layer.Layer<Memory | MemoryStore | Embedder, unknown>]> = []
    if (wanted.includes("pglite")) stores.push(["pglite", stack((dimensions) => PgliteStore.layer({ dataDir: "memory://", dimensions }))])
    if (wanted.includes("memory")) stores.push(["memory", stack((dimensions) => InMemoryStore.layer({ dimensions }))])
    if (wanted.includes("pgvector") && url) {
      stores.push(["pgvector", stack((dimensions) => PgvectorStore.layer({ url: Redacted.make(url), schema, dimensions }))])
    }
    const modes: Array<{ store: string; mode: string } & Quality> = []
    let raw: Lists = []
    try {
      for (const [name, layer] of stores) {
        const lists = yield* runStore(name, layer, set, log)
        if (name === "pglite") raw = lists.raw
        for (const mode of MODES) {
          modes.push({ store: name, mode, ...quality(lists.defaults.map((l) => l[mode].map((h) => h.id)), judgements) })
        }
        if (name === "pglite") {
          const byPart = parts.map((part: Part) => {
            const idx = set.queries.flatMap((q, i) => (q.part === part ? [i] : []))
            return [part, ...MODES.map((mode) => f3(quality(idx.map((i) => lists.defaults[i]![mode].map((h) => h.id)), idx.map((i) => judgements[i]!)).ndcg10))]
          })
          log(table(["nDCG@10 by part (pglite)", ...MODES], byPart))
        }
      }
    } finally {
      if (url) yield* Effect.promise(() => Db.dropSchema(url, schema))
    }
    log(table(["store", "mode", "nDCG@10", "recall@10", "recall@100"], modes.map((m) => [m.store, ...qualityRow(m.mode, m)])))
    // The bar: the reference with the product's parameters; both order ties by id, so equal scores cannot part them.
    const bar = reference.find((r) => r.name === `BM25 ${"english"} k1=${Bm25.K1} b=${Bm25.B} length=distinct`)
    if (bar) {
      for (const m of modes.filter((m) => m.mode === "keyword")) {
        log(`  keyword (${m.store}) nDCG@10 ${m.ndcg10.toFixed(4)} ${m.ndcg10 >= bar.ndcg10 ? ">=" : "<"} reference ${bar.name} ${bar.ndcg10.toFixed(4)}`)
      }
    }

    // Hybrid: fusions and depths, from the same two lists (pglite).
    const scored = (hits: ReadonlyArray<Hit>, depth: number) => hits.slice(0, depth).map((h) => ({ record: h, score: h.score }))
    const fusions: Array<[string, Fusion]> = [
      ...[5, 10, 20, 40, 60, 100].map((k): [string, Fusion] => [`RRF k=${k}`, { _tag: "rrf", k }]),
      ...[0.6, 0.7, 0.8].flatMap((w) => [10, 20, 60].map((k): [string, Fusion] => [`weighted RRF k=${k} keyword ${w}`, { _tag: "rrf", k, weights: [1 - w, w] }])),
      ...[0.5, 0.7, 0.8, 0.85, 0.9, 0.95].map((w): [string, Fusion] => [`scores keyword ${w}`, { _tag: "scores", keywordWeight: w }])
    ]
    const fusion: Array<{ name: string; depth: number } & Quality> = []
    for (const depth of [20, 50, 100, 200]) {
      for (const [name, f] of fusions) {
        const rankings = raw.map((l) => fuse(scored(l.vector, depth), scored(l.keyword, depth), f).slice(0, 100).map((h) => h.record.id))
        fusion.push({ name, depth, ...quality(rankings, judgements) })
      }
    }
    const best = [...fusion].sort((a, b) => b.ndcg10 - a.ndcg10).slice(0, 12)
    log(table(["fusion (best 12 by nDCG@10)", "depth", "nDCG@10", "recall@10", "recall@100"], best.map((r) => [r.name, String(r.depth), f3(r.ndcg10), f3(r.recall10), f3(r.recall100)])))
    log(`  product default: ${JSON.stringify(DEFAULT_FUSION)}, depth ${HYBRID_DEPTH}, vector floor ${VECTOR_FLOOR}`)

    // The vector floor: what a minimum score costs in recall and saves in unrelated hits.
    // Unrelated: a hit that shares no term with the query at all.
    const termsOf = (text: string) => new Set(englishTerms(text).keys())
    const queryTerms = set.queries.map((q) => termsOf(q.text))
    const contentTerms = new Map<string, Set<string>>()
    const shares = (hit: Hit, i: number) => {
      let terms = contentTerms.get(hit.id)
      if (!terms) contentTerms.set(hit.id, (terms = termsOf(hit.content)))
      for (const t of queryTerms[i]!) if (terms.has(t)) return true
      return false
    }
    const floors = [0, 1e-6, 0.01, 0.02, 0.05, 0.1].map((floor) => {
      const lists = raw.map((l) => l.vector.filter((h) => h.score >= floor).slice(0, 100))
      const unrelated = lists.reduce((sum, l, i) => sum + l.slice(0, 10).filter((h) => !shares(h, i)).length, 0) / lists.length
      return { floor, hitsPerQuery: unrelated, ...quality(lists.map((l) => l.map((h) => h.id)), judgements) }
    })
    log(table(["vector floor", "hits sharing no query term, of top 10", "nDCG@10", "recall@10", "recall@100"], floors.map((r) => [String(r.floor), r.hitsPerQuery.toFixed(2), f3(r.ndcg10), f3(r.recall10), f3(r.recall100)])))
    log(`  BM25 in the product: k1=${Bm25.K1} b=${Bm25.B}, length = distinct terms`)
    return { records: set.records.length, queries: set.queries.length, reference, modes, fusion, floors } satisfies QualityResult
  })
