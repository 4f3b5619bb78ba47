/**
 * The `local` embedder: deterministic, offline feature hashing. It is lexical:
 * texts that share words (or word pieces) land close together; synonyms with no
 * shared letters do not. It costs microseconds and no network, which makes it the
 * right default for development, tests and keyword-heavy memories; use `openai`
 * (or any OpenAI-compatible server) for semantic recall.
 *
 * Features: words, adjacent word pairs and character 3-/4-grams of each word,
 * with common English stop words left out. Each feature is hashed to a slot and a
 * sign (signed hashing keeps collisions unbiased), weighted by the square root of
 * its summed weight (sublinear in tf, and it lifts a word's small n-gram weights
 * towards its own), and the vector is L2-normalised so that cosine similarity is
 * a dot product.
 */
import { Config, Effect, Layer } from "effect"
import stem from "wink-porter2-stemmer"
import { Embedder, type EmbedderService } from "../../src/ports/Embedder.ts"

/** v2: sqrt term weights (v1: 1 + ln tf); a new name, so caches and stored records tell the two apart. */
export const MODEL = "local-hash-v2"
export const DEFAULT_DIMENSIONS = 1024

/** Which features a text is made of and how they are weighted (bench/embedderStudy.ts measures them). */
export interface HashingScheme {
  readonly words: boolean
  /** Porter2 stems beside the words (`evicted` and `eviction` share `evict`). */
  readonly stems: boolean
  /** Adjacent word pairs. */
  readonly pairs: boolean
  /** Character n-gram lengths of each `#word#` (empty: none). */
  readonly grams: ReadonlyArray<number>
  /** Term weight from the summed count: 1 + ln(tf), raw tf, sqrt(tf), or 1 (binary). */
  readonly tf: "log" | "raw" | "sqrt" | "binary"
  /** Signed hashing: a hash bit picks +/−, so collisions cancel on average instead of adding up. */
  readonly signed: boolean
}

/** The defaults, chosen by the figures in bench/PERFORMANCE.md ("The local embedder"). */
export const DEFAULT_SCHEME: HashingScheme = { words: true, stems: false, pairs: true, grams: [3, 4], tf: "sqrt", signed: true }

export interface HashingEmbedderOptions {
  readonly dimensions?: number | undefined
  readonly scheme?: HashingScheme | undefined
}

const STOP_WORDS = new Set(
  ("a an and are as at be but by did do does for from had has have he her his how i if in into is it its " +
    "me my no not of on or our she so that the their them then there these they this to was we were what " +
    "when where which who why will with you your").split(" ")
)

const WORD_WEIGHT = 1
const PAIR_WEIGHT = 0.5
const GRAM_WEIGHT = 0.5

/** FNV-1a over UTF-16 code units, then murmur3's finaliser so every bit depends on every input bit. */
const hash32 = (s: string): number => {
  let h = 0x811c9dc5
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i)
    h = Math.imul(h, 0x01000193)
  }
  h ^= h >>> 16
  h = Math.imul(h, 0x85ebca6b)
  h ^= h >>> 13
  h = Math.imul(h, 0xc2b2ae35)
  h ^= h >>> 16
  return h >>> 0
}

const tokenize = (text: string): Array<string> => text.normalize("NFKC").toLowerCase().match(/[\p{L}\p{N}]+/gu) ?? []

/** Feature → summed weight before tf damping. */
const features = (text: string, scheme: HashingScheme): Map<string, number> => {
  const all = tokenize(text)
  const content = all.filter((t) => !STOP_WORDS.has(t))
  const words = content.length > 0 ? content : all
  const counts = new Map<string, number>()
  const add = (feature: string, weight: number) => counts.set(feature, (counts.get(feature) ?? 0) + weight)
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    if (scheme.words) add("w:" + word, WORD_WEIGHT)
    if (scheme.stems && /^\p{L}+$/u.test(word)) add("s:" + stem(word), WORD_WEIGHT)
    if (scheme.pairs && i > 0) add("p:" + words[i - 1] + " " + word, PAIR_WEIGHT)
    if (scheme.grams.length === 0) continue
    const padded = "#" + word + "#"
    const grams = scheme.grams.reduce((sum, n) => sum + Math.max(0, padded.length - n + 1), 0)
    const gramWeight = GRAM_WEIGHT / Math.sqrt(Math.max(1, grams))
    for (const n of scheme.grams) {
      for (let j = 0; j + n <= padded.length; j++) add("g:" + padded.slice(j, j + n), gramWeight)
    }
  }
  return counts
}

const damp = (weight: number, tf: HashingScheme["tf"]) => {
  switch (tf) {
    // Sublinear tf: a word said ten times is not ten times as relevant.
    case "log":
      return weight >= 1 ? 1 + Math.log(weight) : weight
    case "sqrt":
      return Math.sqrt(weight)
    case "binary":
      return Math.min(1, weight)
    case "raw":
      return weight
  }
}

export const embedText = (text: string, dimensions: number, scheme: HashingScheme = DEFAULT_SCHEME): Float32Array => {
  const vector = new Float32Array(dimensions)
  for (const [feature, weight] of features(text, scheme)) {
    const h = hash32(feature)
    const damped = damp(weight, scheme.tf)
    vector[h % dimensions]! += scheme.signed && h & 0x80000000 ? -damped : damped
  }
  let norm = 0
  for (let i = 0; i < dimensions; i++) norm += vector[i]! * vector[i]!
  if (norm > 0) {
    const scale = 1 / Math.sqrt(norm)
    for (let i = 0; i < dimensions; i++) vector[i]! *= scale
  }
  return vector
}

export const make = (options: HashingEmbedderOptions = {}): EmbedderService => {
  const dimensions = options.dimensions ?? DEFAULT_DIMENSIONS
  const scheme = options.scheme ?? DEFAULT_SCHEME
  return {
    model: MODEL,
    dimensions,
    // Graph search fails on these sparse vectors as the table grows (bench/PERFORMANCE.md).
    exactSearch: true,
    embed: (text) => Effect.sync(() => embedText(text, dimensions, scheme)),
    embedMany: (texts) => Effect.sync(() => texts.map((text) => embedText(text, dimensions, scheme)))
  }
}

export const layer = (options: HashingEmbedderOptions = {}): Layer.Layer<Embedder> =>
  Layer.succeed(Embedder, make(options))

export const config: Config.Config<HashingEmbedderOptions> = Config.all({
  dimensions: Config.integer("MEMORY_DIMENSIONS").pipe(
    Config.validate({ message: "must be a whole number from 2 to 16000", validation: (n) => n >= 2 && n <= 16000 }),
    Config.withDefault(DEFAULT_DIMENSIONS)
  )
})

export const layerConfig = (options: Config.Config<HashingEmbedderOptions> = config) =>
  Layer.effect(Embedder, Effect.map(options, make))
