/**
 * The local embedder's study: width, features and term weighting of the
 * hashing embedder on the labelled set (bench/quality/corpus.ts), through the
 * product's own search (in-memory store: exact, so the figures are the
 * embedder's alone, not an index's), vector and hybrid nDCG@10, beside the cost
 * of one embedding. `npx tsx bench/embedderStudy.ts [--only name,name] [--seed N] | --cost`.
 * The figures chose HashingEmbedder's DEFAULT_SCHEME, v1 with sqrt weights (bench/PERFORMANCE.md).
 */
import { Context, Effect, Layer, Stream } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import { SearchRequest, type SearchMode } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import { type LabelledQuery, makeCorpus } from "./quality/corpus.ts"
import { quality } from "./quality/metrics.ts"
import { table } from "./stats.ts"

/** The scheme of local-hash-v1, which the study varies one knob at a time. */
const V1: HashingEmbedder.HashingScheme = { ...HashingEmbedder.DEFAULT_SCHEME, tf: "log" }
const D = V1
type Variant = readonly [name: string, dimensions: number, scheme: HashingEmbedder.HashingScheme]

export const VARIANTS: ReadonlyArray<Variant> = [
  ["v1 (words, pairs, 3-/4-grams, log-tf, signed)", 1024, V1],
  ["v1 at 2048", 2048, V1],
  ["v1 at 4096", 4096, V1],
  ["words only", 1024, { ...D, pairs: false, grams: [] }],
  ["words + pairs", 1024, { ...D, grams: [] }],
  ["words + 3-/4-grams", 1024, { ...D, pairs: false }],
  ["+ stems", 1024, { ...D, stems: true }],
  ["stems instead of words", 1024, { ...D, words: false, stems: true }],
  ["3-grams only", 1024, { ...D, grams: [3] }],
  ["3-/4-/5-grams", 1024, { ...D, grams: [3, 4, 5] }],
  ["raw tf", 1024, { ...D, tf: "raw" }],
  ["sqrt tf (v2, the default)", 1024, { ...D, tf: "sqrt" }],
  ["binary tf", 1024, { ...D, tf: "binary" }],
  ["unsigned hashing", 1024, { ...D, signed: false }],
  ["+ stems at 2048", 2048, { ...D, stems: true }],
  ["+ stems at 4096", 4096, { ...D, stems: true }],
  ["sqrt tf at 2048", 2048, { ...D, tf: "sqrt" }],
  ["sqrt tf, words only", 1024, { ...D, tf: "sqrt", pairs: false, grams: [] }]
]

/** Records with the same text are one record in the store; their judgements go to the one kept. */
const canonical = (seed: number | undefined) => {
  const corpus = makeCorpus(seed)
  const kept = new Map<string, string>()
  const alias = new Map<string, string>()
  const records = corpus.records.filter((r) => {
    if (r.kind === "message") return true
    const holder = kept.get(`${r.kind}:${r.content}`)
    if (holder === undefined) return kept.set(`${r.kind}:${r.content}`, r.id), true
    return alias.set(r.id, holder), false
  })
  const queries = corpus.queries.map((q): LabelledQuery => {
    const relevant = new Map<string, number>()
    for (const [id, grade] of q.relevant) relevant.set(alias.get(id) ?? id, Math.max(grade, relevant.get(alias.get(id) ?? id) ?? 0))
    return { ...q, relevant }
  })
  return { records, queries }
}

const runVariant = ([, dimensions, scheme]: Variant, set: ReturnType<typeof canonical>) =>
  Effect.scoped(Effect.gen(function*() {
    const context = yield* Layer.build(AgentMemory.layer({
      embedder: HashingEmbedder.layer({ dimensions, scheme }),
      store: ({ dimensions }) => InMemoryStore.layer({ dimensions }),
      cache: TieredCache.layer({ ...TieredCache.defaultOptions, entries: { searches: 0, embeddings: 0, records: 0 } })
    }))
    const memory = Context.get(context, Memory)
    yield* memory.storeMany(Stream.fromIterable(set.records.map((r, index) => ({
      index,
      value: { content: r.content, id: r.id, kind: r.kind, ...(r.sessionId === undefined ? {} : { sessionId: r.sessionId }) }
    }))), { namespace: "study" })
    const rankings = (mode: SearchMode) =>
      Effect.forEach(set.queries, (q) =>
        Effect.map(memory.search(new SearchRequest({
          query: q.text, namespace: "study", k: 100, mode, ...(q.sessionId === undefined ? {} : { sessionId: q.sessionId })
        })), (r) => r.hits.map((h) => h.id)))
    const judgements = set.queries.map((q) => q.relevant)
    const vector = quality(yield* rankings("vector"), judgements)
    const hybrid = quality(yield* rankings("hybrid"), judgements)
    return { vector, hybrid, microsPerEmbed: costOf(["", dimensions, scheme], set.records.map((r) => r.content)) }
  }))

/** µs per embedding: every record's text embedded again, best of five rounds (the least disturbed by other load). */
const costOf = ([, dimensions, scheme]: Variant, texts: ReadonlyArray<string>) => {
  let best = Infinity
  for (let round = 0; round < 5; round++) {
    const started = performance.now()
    for (const t of texts) HashingEmbedder.embedText(t, dimensions, scheme)
    best = Math.min(best, (performance.now() - started) / texts.length)
  }
  return best * 1000
}

/** `--cost`: the cost column alone, every variant in one process one after another (no store, seconds). */
export const embedderCost = (log: (line: string) => void) => {
  const texts = canonical(undefined).records.map((r) => r.content)
  log(table(["variant", "width", "µs/embed"], VARIANTS.map((v) => [v[0], String(v[1]), costOf(v, texts).toFixed(1)])))
}

export const embedderStudy = (options: { readonly only?: ReadonlyArray<string> | undefined; readonly seed?: number | undefined; readonly log: (line: string) => void }) =>
  Effect.gen(function*() {
    const set = canonical(options.seed)
    options.log(`embedder study: ${set.records.length} records, ${set.queries.length} queries, in-memory store (exact), k = 100`)
    const variants = options.only === undefined ? VARIANTS : VARIANTS.filter(([name]) => options.only!.includes(name))
    const rows: Array<Array<string>> = []
    for (const variant of variants) {
      const r = yield* runVariant(variant, set)
      rows.push([variant[0], String(variant[1]), r.vector.ndcg10.toFixed(3), r.vector.recall10.toFixed(3), r.hybrid.ndcg10.toFixed(3), r.hybrid.recall10.toFixed(3), r.microsPerEmbed.toFixed(1)])
      options.log(`  ${rows.at(-1)!.join(" | ")}`)
    }
    options.log(table(["variant", "width", "vector nDCG@10", "vector recall@10", "hybrid nDCG@10", "hybrid recall@10", "µs/embed"], rows))
    return rows
  })

if (import.meta.url === `file://${process.argv[1]}`) {
  const argv = process.argv.slice(2)
  const flag = (name: string) => (argv.indexOf(`--${name}`) >= 0 ? argv[argv.indexOf(`--${name}`) + 1] : undefined)
  const only = flag("only")
  const seed = flag("seed")
  if (argv.includes("--cost")) embedderCost((line) => console.log(line))
  else Effect.runPromise(embedderStudy({
    only: only === undefined ? undefined : only.split(","),
    seed: seed === undefined ? undefined : Number(seed),
    log: (line) => console.log(line)
  })).catch((e) => {
    console.error(e)
    process.exitCode = 1
  })
}
