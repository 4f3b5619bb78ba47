/**
 * Fusing the vector and keyword lists of a hybrid search. Three ways, all
 * measured on the benchmark's labelled set (bench/quality.ts): reciprocal rank
 * fusion (Cormack et al.: each list votes 1 / (k + rank)), the same with a
 * weight per list, and a convex combination of each list's scores after
 * scaling them by the list's best. The product uses `fuse` with `DEFAULT_FUSION`,
 * the best of them there (bench/PERFORMANCE.md). Scores come out in [0, 1]: 1
 * for a record that is first (or best) in every list that votes.
 */
/** A scored record as either list holds it (the store's hits, or the API's). */
export interface Scored<R extends { readonly id: string }> {
  readonly record: R
  readonly score: number
}

export type Fusion =
  | { readonly _tag: "rrf"; readonly k: number; readonly weights?: readonly [number, number] | undefined }
  | { readonly _tag: "scores"; readonly keywordWeight: number }

/** What the labelled set chose; each list brings `HYBRID_DEPTH` candidates (or k, when more). */
export const DEFAULT_FUSION: Fusion = { _tag: "scores", keywordWeight: 0.9 }
export const HYBRID_DEPTH = 50

type Fused<R extends { readonly id: string }> = Map<string, { record: R; score: number }>

const vote = <R extends { readonly id: string }>(fused: Fused<R>, { record }: Scored<R>, amount: number) => {
  const entry = fused.get(record.id)
  if (entry) entry.score += amount
  else fused.set(record.id, { record, score: amount })
}

const ranked = <R extends { readonly id: string }>(fused: Fused<R>, best: number): Array<Scored<R>> =>
  [...fused.values()]
    .map(({ record, score }) => ({ record, score: best > 0 ? Math.min(1, score / best) : 0 }))
    .sort((a, b) => b.score - a.score || (a.record.id < b.record.id ? -1 : a.record.id > b.record.id ? 1 : 0))

export const reciprocalRankFusion = <R extends { readonly id: string }>(
  lists: ReadonlyArray<ReadonlyArray<Scored<R>>>,
  k = 60,
  weights: ReadonlyArray<number> = lists.map(() => 1)
): Array<Scored<R>> => {
  const fused: Fused<R> = new Map()
  lists.forEach((list, l) => list.forEach((hit, rank) => vote(fused, hit, (weights[l] ?? 1) / (k + rank + 1))))
  return ranked(fused, weights.reduce((sum, w) => sum + w, 0) / (k + 1))
}

/** Each list's scores over its best (so 1 at its top), mixed with weights that sum to 1. */
export const scoreFusion = <R extends { readonly id: string }>(
  vector: ReadonlyArray<Scored<R>>,
  keyword: ReadonlyArray<Scored<R>>,
  keywordWeight: number
): Array<Scored<R>> => {
  const fused: Fused<R> = new Map()
  const add = (list: ReadonlyArray<Scored<R>>, weight: number) => {
    const best = list[0]?.score ?? 0
    if (best > 0) for (const hit of list) vote(fused, hit, (weight * hit.score) / best)
  }
  add(vector, 1 - keywordWeight)
  add(keyword, keywordWeight)
  return ranked(fused, 1)
}

export const fuse = <R extends { readonly id: string }>(
  vector: ReadonlyArray<Scored<R>>,
  keyword: ReadonlyArray<Scored<R>>,
  fusion: Fusion = DEFAULT_FUSION
): Array<Scored<R>> =>
  fusion._tag === "rrf" ? reciprocalRankFusion([vector, keyword], fusion.k, fusion.weights) : scoreFusion(vector, keyword, fusion.keywordWeight)
