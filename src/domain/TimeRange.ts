/**
 * Time in requests: an ISO 8601 instant, a `since`/`until` window over a
 * record's time (its `occurredAt` when the caller set one, else `createdAt`),
 * and the optional recency boost of a search.
 */
import { Schema } from "effect"
import { strictStruct } from "./Strict.ts"

const ISO_8601 = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,9})?)?(Z|[+-]\d{2}:?\d{2})?)?$/

/** `2024-05-01` (midnight UTC) or `2024-05-01T12:30:00Z`, with an optional offset; decoded to a Date. */
export const Instant = Schema.String.pipe(
  Schema.filter((s) => ISO_8601.test(s) && !Number.isNaN(Date.parse(s)), {
    message: (issue) => `${JSON.stringify(issue.actual)} is not an ISO 8601 date or date-time (e.g. 2024-05-01 or 2024-05-01T12:30:00Z)`
  }),
  Schema.compose(Schema.Date)
)

/** Inclusive bounds on a record's time; either may be left out. */
export const TimeRangeFields = {
  since: Schema.optional(Instant),
  until: Schema.optional(Instant)
}

/** A window whose start is after its end selects nothing: refused rather than answered empty. */
export const orderedRange = (r: { readonly since?: Date | undefined; readonly until?: Date | undefined }) =>
  r.since === undefined || r.until === undefined || r.since.getTime() <= r.until.getTime() ||
  `since (${r.since.toISOString()}) is after until (${r.until.toISOString()})`

export const DEFAULT_RECENCY_WEIGHT = 1

/**
 * The recency boost: score × (1 + weight · 2^(−age / halfLife)) / (1 + weight),
 * age from the record's time to now. A record from now keeps its score, one a
 * half-life old keeps (1 + weight/2)/(1 + weight) of it; scores stay in [0, 1].
 */
export class Recency extends Schema.Class<Recency>("Recency")(strictStruct({
  halfLifeDays: Schema.Number.pipe(
    Schema.greaterThan(0, { message: () => "recency.halfLifeDays must be a positive number of days" }),
    Schema.lessThanOrEqualTo(36_500, { message: () => "recency.halfLifeDays is at most 36500 (100 years)" })
  ),
  weight: Schema.optional(
    Schema.Number.pipe(Schema.between(0, 100, { message: () => "recency.weight must be between 0 and 100" }))
  )
})) {}
