/**
 * The recency boost of a search: score × (1 + w · 2^(−age / halfLife)) / (1 + w),
 * where age runs from the record's time (occurredAt, else createdAt) to now.
 * A record of now keeps its score, one a half-life old keeps (1 + w/2)/(1 + w)
 * of it, an old one tends to 1/(1 + w) of it; a future time counts as now.
 */
import type { ScoredRecord } from "../ports/MemoryStore.ts"

const DAY_MS = 86_400_000

export interface RecencyBoost {
  readonly halfLifeDays: number
  readonly weight: number
}

export const recencyFactor = (boost: RecencyBoost, at: Date, now: number): number => {
  const ageDays = Math.max(0, now - at.getTime()) / DAY_MS
  return (1 + boost.weight * Math.pow(2, -ageDays / boost.halfLifeDays)) / (1 + boost.weight)
}

/** The hits rescored and in their new order (ties keep the order they came in). */
export const boostByRecency = (
  hits: ReadonlyArray<ScoredRecord>,
  boost: RecencyBoost,
  now: number = Date.now()
): Array<ScoredRecord> =>
  hits
    .map((h, i) => ({ hit: { record: h.record, score: h.score * recencyFactor(boost, h.record.occurredAt ?? h.record.createdAt, now) }, i }))
    .sort((a, b) => b.hit.score - a.hit.score || a.i - b.i)
    .map(({ hit }) => hit)
