/** A heap monitor alert, as GET /v1/alerts lists and streams it. */
import { Schema } from "effect"

export const AlertLevel = Schema.Literal("info", "warning", "critical")
export type AlertLevel = typeof AlertLevel.Type

export class Alert extends Schema.Class<Alert>("Alert")({
  level: AlertLevel,
  message: Schema.String,
  /** V8 heap in use. */
  heapUsedMb: Schema.Number,
  /** ArrayBuffer memory outside the V8 heap (vectors live there); counted with the heap against the thresholds. */
  arrayBuffersMb: Schema.Number,
  heapLimitMb: Schema.Number,
  rssMb: Schema.Number,
  eventLoopDelayMs: Schema.Number,
  /** Set when the alert made the caches shed: the bytes they gave back. */
  freedBytes: Schema.optional(Schema.Number),
  at: Schema.Date
}) {}
