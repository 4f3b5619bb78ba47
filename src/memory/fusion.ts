/**
 * Reciprocal rank fusion of vector and keyword results: each list votes
 * 1 / (60 + rank) for its records (60 is the constant of Cormack et al., which
 * keeps one list's top result from drowning the other). The score is scaled to
 * [0, 1]: 1 for a record first in both lists.
 */
import type { ScoredRecord } from "../ports/MemoryStore.ts"

const K = 60

export const reciprocalRankFusion = (lists: ReadonlyArray<ReadonlyArray<ScoredRecord>>): Array<ScoredRecord> => {
  const fused = new Map<string, { record: ScoredRecord["record"]; score: number }>()
  for (const list of lists) {
    list.forEach(({ record }, rank) => {
      const entry = fused.get(record.id) ?? { record, score: 0 }
      entry.score += 1 / (K + rank + 1)
      fused.set(record.id, entry)
    })
  }
  const best = lists.length / (K + 1)
  return [...fused.values()]
    .map(({ record, score }) => ({ record, score: score / best }))
    .sort((a, b) => b.score - a.score)
}
