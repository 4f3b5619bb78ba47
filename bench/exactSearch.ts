/**
 * Exact k-nearest-neighbour search by cosine similarity over unit vectors (a
 * dot product), the ground truth that recall is measured against. Rows are
 * scanned once per block of four queries, which keeps each row in cache for
 * four dot products. It also answers the filtered truths: the nearest rows
 * among those whose `p1` (1%) or `p10` (10%) equals the query's filter value.
 */

export interface ExactInput {
  readonly vectors: Float32Array
  readonly dims: number
  readonly rows: number
  readonly queryVectors: Float32Array
  readonly p1: Uint8Array
  readonly p10: Uint8Array
  readonly k: number
  /** Queries [from, to) to answer. */
  readonly from: number
  readonly to: number
  /** Queries below this index also get filtered truths. */
  readonly filtered: number
}

export interface ExactOutput {
  /** (to - from) × k rows, nearest first; -1 where fewer than k rows qualify. */
  readonly all: Int32Array
  readonly p1: Int32Array
  readonly p10: Int32Array
}

/** The filter value a query uses at 1% and 10% selectivity. */
export const filterValue1 = (query: number) => query % 100
export const filterValue10 = (query: number) => query % 10

/** The k best (row, score) pairs seen, kept sorted best first; `floor` is the score to beat. */
class TopK {
  readonly rows: Int32Array
  readonly scores: Float64Array
  floor = -Infinity
  size = 0

  constructor(readonly k: number) {
    this.rows = new Int32Array(k).fill(-1)
    this.scores = new Float64Array(k).fill(-Infinity)
  }

  offer(row: number, score: number) {
    if (score <= this.floor && this.size === this.k) return
    let i = Math.min(this.size, this.k - 1)
    while (i > 0 && this.scores[i - 1]! < score) {
      this.scores[i] = this.scores[i - 1]!
      this.rows[i] = this.rows[i - 1]!
      i--
    }
    this.scores[i] = score
    this.rows[i] = row
    if (this.size < this.k) this.size++
    if (this.size === this.k) this.floor = this.scores[this.k - 1]!
  }
}

export const exactSearch = (input: ExactInput): ExactOutput => {
  const { dims, k, rows, vectors } = input
  const count = input.to - input.from
  const out: ExactOutput = { all: new Int32Array(count * k), p1: new Int32Array(count * k).fill(-1), p10: new Int32Array(count * k).fill(-1) }
  for (let start = input.from; start < input.to; start += 4) {
    const block = Math.min(4, input.to - start)
    // Four query slots, padded with the first query; padded results are dropped.
    const q = new Float64Array(4 * dims)
    for (let b = 0; b < 4; b++) {
      const src = start + Math.min(b, block - 1)
      for (let j = 0; j < dims; j++) q[b * dims + j] = input.queryVectors[src * dims + j]!
    }
    const all = Array.from({ length: 4 }, () => new TopK(k))
    const f1 = Array.from({ length: 4 }, () => new TopK(k))
    const f10 = Array.from({ length: 4 }, () => new TopK(k))
    const v1 = Array.from({ length: 4 }, (_, b) => filterValue1(start + b))
    const v10 = Array.from({ length: 4 }, (_, b) => filterValue10(start + b))
    const withFilters = start < input.filtered
    for (let row = 0; row < rows; row++) {
      const o = row * dims
      let s0 = 0, s1 = 0, s2 = 0, s3 = 0
      for (let j = 0; j < dims; j++) {
        const x = vectors[o + j]!
        s0 += x * q[j]!
        s1 += x * q[dims + j]!
        s2 += x * q[2 * dims + j]!
        s3 += x * q[3 * dims + j]!
      }
      for (let b = 0; b < block; b++) {
        const s = b === 0 ? s0 : b === 1 ? s1 : b === 2 ? s2 : s3
        all[b]!.offer(row, s)
        if (withFilters) {
          if (input.p1[row] === v1[b]) f1[b]!.offer(row, s)
          if (input.p10[row] === v10[b]) f10[b]!.offer(row, s)
        }
      }
    }
    for (let b = 0; b < block; b++) {
      const at = (start + b - input.from) * k
      out.all.set(all[b]!.rows, at)
      if (start + b < input.filtered) {
        out.p1.set(f1[b]!.rows, at)
        out.p10.set(f10[b]!.rows, at)
      }
    }
  }
  return out
}
