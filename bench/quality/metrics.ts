/** Ranking quality against graded judgements: nDCG@k (gain 2^grade − 1) and recall@k of every judged record. */

export const ndcg = (ranking: ReadonlyArray<string>, relevant: ReadonlyMap<string, number>, k: number) => {
  let dcg = 0
  ranking.slice(0, k).forEach((id, i) => {
    const grade = relevant.get(id) ?? 0
    if (grade > 0) dcg += (2 ** grade - 1) / Math.log2(i + 2)
  })
  const ideal = [...relevant.values()].sort((a, b) => b - a).slice(0, k)
    .reduce((sum, grade, i) => sum + (2 ** grade - 1) / Math.log2(i + 2), 0)
  return ideal > 0 ? dcg / ideal : 0
}

export const recall = (ranking: ReadonlyArray<string>, relevant: ReadonlyMap<string, number>, k: number) => {
  if (relevant.size === 0) return 0
  return ranking.slice(0, k).filter((id) => (relevant.get(id) ?? 0) > 0).length / relevant.size
}

export interface Quality {
  readonly ndcg10: number
  readonly recall10: number
  readonly recall100: number
}

export const quality = (
  rankings: ReadonlyArray<ReadonlyArray<string>>,
  judgements: ReadonlyArray<ReadonlyMap<string, number>>
): Quality => {
  const mean = (f: (r: ReadonlyArray<string>, j: ReadonlyMap<string, number>) => number) =>
    rankings.reduce((sum, r, i) => sum + f(r, judgements[i]!), 0) / Math.max(1, rankings.length)
  return {
    ndcg10: mean((r, j) => ndcg(r, j, 10)),
    recall10: mean((r, j) => recall(r, j, 10)),
    recall100: mean((r, j) => recall(r, j, 100))
  }
}
