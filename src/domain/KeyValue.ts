/** Key/value memory: facts an agent remembers by name (remember / recall / forget). */
import { Schema } from "effect"
import { Namespace } from "./Memory.ts"
import { jsonProblem } from "./Storable.ts"
import { strictStruct } from "./Strict.ts"

export const MAX_KV_VALUE_BYTES = 65_536

export const KvKey = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9_.:@/-]{1,256}$/, { message: () => "a key is 1-256 characters of letters, digits and _ . : @ / -" })
)

export class KvPutRequest extends Schema.Class<KvPutRequest>("KvPutRequest")(strictStruct({
  /** Any JSON value. */
  value: Schema.Unknown.pipe(
    Schema.filter((v) => v !== undefined || "value is required"),
    Schema.filter((v) => jsonProblem(v) ?? true),
    Schema.filter((v) => (JSON.stringify(v) ?? "").length <= MAX_KV_VALUE_BYTES || `value is at most ${MAX_KV_VALUE_BYTES} bytes of JSON`)
  ),
  namespace: Schema.optional(Namespace),
  ttlSeconds: Schema.optional(
    Schema.Int.pipe(Schema.between(1, 10 * 365 * 24 * 3600, { message: () => "ttlSeconds must be a whole number of seconds from 1 to 10 years" }))
  )
})) {}

export class KvEntry extends Schema.Class<KvEntry>("KvEntry")({
  namespace: Schema.String,
  key: Schema.String,
  value: Schema.Unknown,
  createdAt: Schema.Date,
  updatedAt: Schema.Date,
  expiresAt: Schema.NullOr(Schema.Date)
}) {}
