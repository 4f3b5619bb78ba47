/**
 * Applying a reranker to retrieved candidates: each takes the reranker's
 * score (clamped to [0, 1]); candidates it did not score follow, in their
 * retrieval order, below every scored one.
 */
import { Effect } from "effect"
import type { RerankFailed } from "../domain/errors.ts"
import type { ScoredRecord } from "../ports/MemoryStore.ts"
import type { RerankerService } from "../ports/Reranker.ts"

const clamp = (x: number) => (Number.isFinite(x) ? Math.min(1, Math.max(0, x)) : 0)

export const rerankHits = (
  reranker: RerankerService,
  query: string,
  candidates: ReadonlyArray<ScoredRecord>
): Effect.Effect<Array<ScoredRecord>, RerankFailed> =>
  candidates.length === 0
    ? Effect.succeed([])
    : Effect.map(reranker.rerank(query, candidates.map((c) => c.record.content)), (scores) => {
      const seen = new Set<number>()
      const ranked: Array<ScoredRecord> = []
      for (const { index, score } of [...scores].sort((a, b) => b.score - a.score)) {
        if (seen.has(index)) continue
        seen.add(index)
        ranked.push({ record: candidates[index]!.record, score: clamp(score) })
      }
      for (let i = 0; i < candidates.length; i++) if (!seen.has(i)) ranked.push({ record: candidates[i]!.record, score: 0 })
      return ranked
    })
