/**
 * The `local` embedder: deterministic, offline feature hashing. It is lexical:
 * texts that share words (or word pieces) land close together; synonyms with no
 * shared letters do not. It costs microseconds and no network, which makes it the
 * right default for development, tests and keyword-heavy memories; use `openai`
 * (or any OpenAI-compatible server) for semantic recall.
 *
 * Features: words, adjacent word pairs and character 3-/4-grams of each word,
 * with common English stop words left out. Each feature is hashed to a slot and a
 * sign (signed hashing keeps collisions unbiased), weighted by 1 + ln(tf), and
 * the vector is L2-normalised so that cosine similarity is a dot product.
 */
import { Config, Effect, Layer } from "effect"
import { Embedder, type EmbedderService } from "../../src/ports/Embedder.ts"

export const MODEL = "local-hash-v1"
export const DEFAULT_DIMENSIONS = 1024

export interface HashingEmbedderOptions {
  readonly dimensions?: number | undefined
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
const features = (text: string): Map<string, number> => {
  const all = tokenize(text)
  const content = all.filter((t) => !STOP_WORDS.has(t))
  const words = content.length > 0 ? content : all
  const counts = new Map<string, number>()
  const add = (feature: string, weight: number) => counts.set(feature, (counts.get(feature) ?? 0) + weight)
  for (let i = 0; i < words.length; i++) {
    const word = words[i]!
    add("w:" + word, WORD_WEIGHT)
    if (i > 0) add("p:" + words[i - 1] + " " + word, PAIR_WEIGHT)
    const padded = "#" + word + "#"
    const grams = Math.max(0, padded.length - 2) + Math.max(0, padded.length - 3)
    const gramWeight = GRAM_WEIGHT / Math.sqrt(Math.max(1, grams))
    for (let n = 3; n <= 4; n++) {
      for (let j = 0; j + n <= padded.length; j++) add("g:" + padded.slice(j, j + n), gramWeight)
    }
  }
  return counts
}

export const embedText = (text: string, dimensions: number): Float32Array => {
  const vector = new Float32Array(dimensions)
  for (const [feature, weight] of features(text)) {
    const h = hash32(feature)
    // Sublinear tf: a word said ten times is not ten times as relevant.
    const damped = weight >= 1 ? 1 + Math.log(weight) : weight
    vector[h % dimensions]! += h & 0x80000000 ? -damped : damped
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
  return {
    model: MODEL,
    dimensions,
    embed: (text) => Effect.sync(() => embedText(text, dimensions)),
    embedMany: (texts) => Effect.sync(() => texts.map((text) => embedText(text, dimensions)))
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
