/**
 * The benchmark's data: unit vectors drawn from a Gaussian mixture (clustered
 * the way sentence embeddings are, not uniform noise, which no index can
 * search well and no real corpus looks like), a text and metadata per row,
 * and query vectors drawn from the same mixture. Everything follows from the
 * seed, so two runs with the same flags see the same rows and queries.
 *
 * Each cluster has a centre and a low-rank spread of its own (a few directions
 * with decaying variance, plus a little isotropic noise): real embeddings have
 * a low intrinsic dimension, and isotropic 384-dimensional noise would make
 * every point in a cluster equally far from every other.
 */
import { Random } from "./random.ts"

export interface DatasetOptions {
  readonly rows: number
  readonly dims: number
  readonly seed: number
  readonly clusters: number
  readonly queries: number
}

export interface Dataset extends DatasetOptions {
  /** rows × dims, unit length, on a SharedArrayBuffer (the ground-truth workers read it without a copy). */
  readonly vectors: Float32Array
  /** queries × dims, unit length. */
  readonly queryVectors: Float32Array
  /** A value in [0, 100) per row: `{p1: v}` selects 1% of the rows. */
  readonly p1: Uint8Array
  /** A value in [0, 10) per row: `{p10: v}` selects 10%. */
  readonly p10: Uint8Array
  readonly texts: ReadonlyArray<string>
  readonly queryTexts: ReadonlyArray<string>
  readonly vector: (row: number) => Float32Array
  readonly queryVector: (query: number) => Float32Array
  readonly metadata: (row: number) => { readonly p1: number; readonly p10: number }
  /** The record id of a row. */
  readonly id: (row: number) => string
  /** The row of a record id (the inverse of `id`). */
  readonly rowOf: (id: string) => number
}

/** Directions of spread per cluster, and how much of a point is spread rather than centre. */
const RANK = 16
const SPREAD = 0.75
const NOISE = 0.25

const WORDS = ("river mountain harbour engine garden violin planet winter coffee library market signal forest castle " +
  "rocket island kitchen theatre bridge desert pepper cotton silver thunder meeting invoice travel doctor " +
  "project deadline birthday recipe holiday budget contract password printer server laptop camera ticket " +
  "flight hotel dinner lunch train football guitar piano painting museum school lesson exam garden weather").split(" ")

const unit = (v: Float32Array) => {
  let norm = 0
  for (let i = 0; i < v.length; i++) norm += v[i]! * v[i]!
  const scale = norm > 0 ? 1 / Math.sqrt(norm) : 0
  for (let i = 0; i < v.length; i++) v[i]! *= scale
  return v
}

const gaussian = (random: Random, dims: number) => {
  const v = new Float32Array(dims)
  for (let i = 0; i < dims; i++) v[i] = random.normal()
  return v
}

interface Cluster {
  readonly centre: Float32Array
  readonly basis: ReadonlyArray<Float32Array>
  readonly scales: ReadonlyArray<number>
  readonly topic: ReadonlyArray<string>
}

const makeClusters = (random: Random, count: number, dims: number): { clusters: Array<Cluster>; cumulative: Float64Array } => {
  const clusters: Array<Cluster> = []
  const weights = new Float64Array(count)
  for (let k = 0; k < count; k++) {
    // Decaying variance over the cluster's own directions; the total spread is SPREAD.
    const raw = Array.from({ length: RANK }, (_, r) => Math.pow(0.85, r))
    const total = Math.sqrt(raw.reduce((s, x) => s + x * x, 0))
    clusters.push({
      centre: unit(gaussian(random, dims)),
      basis: Array.from({ length: RANK }, () => unit(gaussian(random, dims))),
      scales: raw.map((x) => (SPREAD * x) / total),
      topic: Array.from({ length: 3 }, () => WORDS[random.int(WORDS.length)]!)
    })
    // Uneven cluster sizes (log-normal weights), as topics in a real memory store are.
    weights[k] = Math.exp(0.6 * random.normal())
  }
  const cumulative = new Float64Array(count)
  let sum = 0
  for (let k = 0; k < count; k++) cumulative[k] = sum += weights[k]!
  for (let k = 0; k < count; k++) cumulative[k]! /= sum
  return { clusters, cumulative }
}

const pick = (cumulative: Float64Array, u: number) => {
  let lo = 0
  let hi = cumulative.length - 1
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if (cumulative[mid]! < u) lo = mid + 1
    else hi = mid
  }
  return lo
}

/** Fills `out` (count × dims) with points of the mixture; answers each point's cluster. */
const sample = (random: Random, clusters: ReadonlyArray<Cluster>, cumulative: Float64Array, out: Float32Array, count: number, dims: number) => {
  const of = new Uint32Array(count)
  const noise = NOISE / Math.sqrt(dims)
  for (let i = 0; i < count; i++) {
    const k = pick(cumulative, random.next())
    of[i] = k
    const c = clusters[k]!
    const v = out.subarray(i * dims, (i + 1) * dims)
    v.set(c.centre)
    for (let r = 0; r < RANK; r++) {
      const z = random.normal() * c.scales[r]!
      const b = c.basis[r]!
      for (let j = 0; j < dims; j++) v[j]! += z * b[j]!
    }
    for (let j = 0; j < dims; j++) v[j]! += noise * random.normal()
    unit(v)
  }
  return of
}

const sentence = (random: Random, topic: ReadonlyArray<string>, length: number) =>
  Array.from({ length }, (_, j) => (j % 3 === 0 ? topic[random.int(topic.length)]! : WORDS[random.int(WORDS.length)]!)).join(" ")

export const make = (options: DatasetOptions): Dataset => {
  const { dims, queries, rows, seed } = options
  const random = new Random(seed)
  const { clusters, cumulative } = makeClusters(random, options.clusters, dims)

  const vectors = new Float32Array(new SharedArrayBuffer(rows * dims * 4))
  const clusterOf = sample(random, clusters, cumulative, vectors, rows, dims)
  // Texts are unique (the store deduplicates equal content) and name their topic's words.
  const texts = Array.from({ length: rows }, (_, i) => `memory ${i}: ${sentence(random, clusters[clusterOf[i]!]!.topic, 12)}`)
  const p1 = new Uint8Array(new SharedArrayBuffer(rows))
  const p10 = new Uint8Array(new SharedArrayBuffer(rows))
  for (let i = 0; i < rows; i++) {
    p1[i] = random.int(100)
    p10[i] = random.int(10)
  }

  // Queries: fresh points of the same mixture, from a random stream of their own.
  const queryRandom = new Random(seed ^ 0x5bd1e995)
  const queryVectors = new Float32Array(new SharedArrayBuffer(queries * dims * 4))
  const queryCluster = sample(queryRandom, clusters, cumulative, queryVectors, queries, dims)
  const queryTexts = Array.from({ length: queries }, (_, j) => `query ${j}: ${sentence(queryRandom, clusters[queryCluster[j]!]!.topic, 6)}`)

  return {
    ...options,
    vectors,
    queryVectors,
    p1,
    p10,
    texts,
    queryTexts,
    vector: (row) => vectors.subarray(row * dims, (row + 1) * dims),
    queryVector: (query) => queryVectors.subarray(query * dims, (query + 1) * dims),
    metadata: (row) => ({ p1: p1[row]!, p10: p10[row]! }),
    id: (row) => `r${row}`,
    rowOf: (id) => Number(id.slice(1))
  }
}
