/** Search requests and answers. */
import { Schema } from "effect"
import { constructorCheck, validationDisabled } from "./ConstructorCheck.ts"
import { MetadataFilter } from "./Filter.ts"
import { storableText } from "./Storable.ts"
import { strict } from "./Strict.ts"
import { orderedRange, Recency, TimeRangeFields } from "./TimeRange.ts"
import { MAX_K, MAX_QUERY_LENGTH, MemoryKind, Namespace, SessionId, Tags } from "./Memory.ts"

export const DEFAULT_K = 10

/** `vector`: by meaning; `keyword`: full-text word match; `hybrid`: both, fused by reciprocal rank. */
export const SearchMode = Schema.Literal("vector", "keyword", "hybrid")
export type SearchMode = typeof SearchMode.Type

const SearchRequestFields = strict(Schema.Struct({
  query: Schema.String.pipe(
    Schema.filter((s) => s.trim().length > 0, { message: () => "query must not be empty" }),
    Schema.maxLength(MAX_QUERY_LENGTH, { message: () => `query is at most ${MAX_QUERY_LENGTH} characters` }),
    storableText
  ),
  namespace: Schema.optional(Namespace),
  k: Schema.optional(
    Schema.Int.pipe(Schema.between(1, MAX_K, { message: () => `k must be a whole number from 1 to ${MAX_K}` }))
  ),
  minScore: Schema.optional(
    Schema.Number.pipe(Schema.between(0, 1, { message: () => "minScore must be between 0 and 1" }))
  ),
  mode: Schema.optional(SearchMode),
  filter: Schema.optional(MetadataFilter),
  /** Records carrying these tags: every one (`tagMatch: "all"`, the default) or any. */
  tags: Schema.optional(Tags),
  tagMatch: Schema.optional(Schema.Literal("all", "any")),
  kinds: Schema.optional(Schema.Array(MemoryKind)),
  sessionId: Schema.optional(SessionId),
  /** Inclusive bounds on each record's time (occurredAt, else createdAt), ISO 8601. */
  ...TimeRangeFields,
  /** Boost recent records: score × (1 + weight·2^(−age/halfLife)) / (1 + weight). */
  recency: Schema.optional(Recency)
}).pipe(Schema.filter(orderedRange)))

// since/until are ISO strings on the wire: the constructor's check is built once (ConstructorCheck.ts).
const checkSearchRequest = constructorCheck(SearchRequestFields, "SearchRequest")

export class SearchRequest extends Schema.Class<SearchRequest>("SearchRequest")(SearchRequestFields) {
  constructor(props: typeof SearchRequestFields.Type, options?: Schema.MakeOptions) {
    super(validationDisabled(options) ? props : checkSearchRequest(props), true)
  }
}

export class SearchHit extends Schema.Class<SearchHit>("SearchHit")({
  id: Schema.String,
  namespace: Schema.String,
  content: Schema.String,
  /** Cosine similarity clamped to [0, 1]: 1 is the same direction, 0 unrelated or opposed. */
  score: Schema.Number,
  kind: MemoryKind,
  tags: Schema.Array(Schema.String),
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  sessionId: Schema.NullOr(Schema.String),
  createdAt: Schema.Date,
  expiresAt: Schema.NullOr(Schema.Date),
  /** When it happened, when the caller said (see MemoryRecord.occurredAt). */
  occurredAt: Schema.optionalWith(Schema.NullOr(Schema.Date), { default: () => null })
}) {}

export class SearchResponse extends Schema.Class<SearchResponse>("SearchResponse")({
  hits: Schema.Array(SearchHit),
  cached: Schema.Boolean,
  tookMs: Schema.Number
}) {}
