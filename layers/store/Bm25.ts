/**
 * BM25, as every store ranks keyword search: term-frequency saturation (k1),
 * length normalisation (b) and Robertson–Spärck Jones idf from per-namespace
 * statistics. The SQL stores compute the same formula in SQL; the in-memory
 * store in JavaScript. The parameters were chosen on the benchmark's labelled
 * set (bench/quality.ts, bench/PERFORMANCE.md).
 *
 * A document's length is its number of distinct terms (what PostgreSQL's
 * `length(tsvector)` answers without reading the positions); on the labelled set
 * it ranks as well as a token count, and it costs no extra column.
 */

export const K1 = 0.9
export const B = 0.4

/** Never more query terms than this: a pasted paragraph must not become a 500-way OR. */
export const MAX_QUERY_TERMS = 32

export const idf = (docs: number, df: number) => Math.log(1 + (docs - df + 0.5) / (df + 0.5))

/** One term's share of a document's score. */
export const termScore = (idfValue: number, tf: number, length: number, averageLength: number) =>
  (idfValue * tf * (K1 + 1)) / (tf + K1 * (1 - B + (B * length) / averageLength))

/** The most one term can add to any document's score (tf → ∞). */
export const upperBound = (idfValue: number) => idfValue * (K1 + 1)

export interface WeightedTerm {
  readonly term: string
  readonly df: number
  readonly idf: number
}

/**
 * Scores are BM25 divided by the most the query could score, so they lie in
 * [0, 1) like every other score the port returns, with the order unchanged.
 */
export const normaliser = (terms: ReadonlyArray<WeightedTerm>) => terms.reduce((sum, t) => sum + upperBound(t.idf), 0)

/**
 * Which terms must match for a document to be a candidate (MaxScore, Turtle &
 * Flood 1995): a document that matches none of `essential` scores at most the sum of
 * the others' upper bounds, so once `threshold` (the k-th best score found) is
 * above that sum, the rest cannot enter the top k. Terms are taken rarest first.
 */
export const essentialTerms = (terms: ReadonlyArray<WeightedTerm>, threshold: number): ReadonlyArray<WeightedTerm> => {
  const byRarity = [...terms].sort((a, b) => a.df - b.df || (a.term < b.term ? -1 : 1))
  let rest = byRarity.reduce((sum, t) => sum + upperBound(t.idf), 0)
  let n = 0
  while (n < byRarity.length && rest >= threshold) {
    rest -= upperBound(byRarity[n]!.idf)
    n++
  }
  return byRarity.slice(0, Math.max(1, n))
}

/** The rarest terms whose documents add up to at most `budget` (at least one term): the first candidates to score. */
export const rarestWithin = (terms: ReadonlyArray<WeightedTerm>, budget: number): ReadonlyArray<WeightedTerm> => {
  const byRarity = [...terms].sort((a, b) => a.df - b.df || (a.term < b.term ? -1 : 1))
  let total = 0
  let n = 0
  while (n < byRarity.length && (n === 0 || total + byRarity[n]!.df <= budget)) total += byRarity[n++]!.df
  return byRarity.slice(0, n)
}
