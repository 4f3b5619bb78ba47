/**
 * The memory record and the requests that create and find it, as Schema types.
 * The same schemas validate HTTP bodies, CLI input and library calls.
 */
import { Either, type ParseResult, Schema } from "effect"
import { constructorCheck, validationDisabled } from "./ConstructorCheck.ts"
import { storableJson, storableText } from "./Storable.ts"
import { strictStruct } from "./Strict.ts"
import { Instant } from "./TimeRange.ts"

/** Longest content accepted in one record; longer text belongs in a document (chunked). */
export const MAX_CONTENT_LENGTH = 65_536
export const MAX_QUERY_LENGTH = 8_192
export const MAX_K = 200
export const MAX_TAGS = 64
export const MAX_METADATA_BYTES = 16_384
export const DEFAULT_NAMESPACE = "default"

export const MemoryKind = Schema.Literal("memory", "knowledge", "message")
export type MemoryKind = typeof MemoryKind.Type

const identifier = (what: string, max: number) =>
  Schema.String.pipe(
    Schema.pattern(new RegExp(`^[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,${max - 1}}$`), {
      message: () => `${what} must be 1-${max} characters of letters, digits and _ . : @ / - (starting with a letter or digit)`
    })
  )

export const Namespace = identifier("namespace", 128)
export type Namespace = typeof Namespace.Type
export const MemoryId = identifier("id", 128)
export const SessionId = identifier("sessionId", 128)
export const Tag = Schema.String.pipe(
  Schema.minLength(1, { message: () => "a tag must not be empty" }),
  Schema.maxLength(64, { message: () => "a tag is at most 64 characters" }),
  storableText
)
export const Tags = Schema.Array(Tag).pipe(
  Schema.maxItems(MAX_TAGS, { message: () => `at most ${MAX_TAGS} tags` })
)

export const Content = Schema.String.pipe(
  Schema.filter((s) => s.trim().length > 0, { message: () => "content must not be empty" }),
  Schema.maxLength(MAX_CONTENT_LENGTH, {
    message: () => `content is at most ${MAX_CONTENT_LENGTH} characters (store longer text as a document)`
  }),
  storableText
)

/** Free-form JSON attached to a record; filtered on with `filter`. */
export const Metadata = Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(
  storableJson,
  Schema.filter((m) => JSON.stringify(m).length <= MAX_METADATA_BYTES, {
    message: () => `metadata is at most ${MAX_METADATA_BYTES} bytes of JSON`
  })
)
export type Metadata = typeof Metadata.Type

export class MemoryRecord extends Schema.Class<MemoryRecord>("MemoryRecord")({
  id: Schema.String,
  namespace: Schema.String,
  kind: MemoryKind,
  content: Schema.String,
  contentHash: Schema.String,
  tags: Schema.Array(Schema.String),
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  sessionId: Schema.NullOr(Schema.String),
  createdAt: Schema.Date,
  updatedAt: Schema.Date,
  expiresAt: Schema.NullOr(Schema.Date),
  embeddingModel: Schema.String,
  embeddingDimensions: Schema.Int,
  /** When what the record tells happened (a message's real time), if the caller said; time filters use it before createdAt. */
  occurredAt: Schema.optionalWith(Schema.NullOr(Schema.Date), { default: () => null })
}) {}

const StoreMemoryRequestFields = strictStruct({
  content: Content,
  namespace: Schema.optional(Namespace),
  sessionId: Schema.optional(SessionId),
  kind: Schema.optional(MemoryKind),
  tags: Schema.optional(Tags),
  metadata: Schema.optional(Metadata),
  ttlSeconds: Schema.optional(
    Schema.Int.pipe(Schema.between(1, 10 * 365 * 24 * 3600, { message: () => "ttlSeconds must be a whole number of seconds from 1 to 10 years" }))
  ),
  id: Schema.optional(MemoryId),
  /** When it happened, if not now (ISO 8601): since/until and recency go by it. */
  occurredAt: Schema.optional(Instant)
})
// occurredAt is an ISO string on the wire: the constructor's check is built once (ConstructorCheck.ts).
const checkStoreMemoryRequest = constructorCheck(StoreMemoryRequestFields, "StoreMemoryRequest")

/** What POST /v1/memories and `Memory.store` take. */
export class StoreMemoryRequest extends Schema.Class<StoreMemoryRequest>("StoreMemoryRequest")(StoreMemoryRequestFields) {
  constructor(props: typeof StoreMemoryRequestFields.Type, options?: Schema.MakeOptions) {
    super(validationDisabled(options) ? props : checkStoreMemoryRequest(props), true)
  }
}

const decodeStoreMemoryFields = Schema.decodeUnknownEither(
  StoreMemoryRequestFields.annotations({ identifier: "StoreMemoryRequest (Encoded side)" })
)

/**
 * Schema.decodeUnknownEither(StoreMemoryRequest) for untyped input (ingest's items): the fields
 * decoded, then the instance made without checking them again, which is what the class's own
 * decode does, without its declaration's extra steps (~6 against ~12 µs an item). Same answers,
 * same errors (the fields carry the class's Encoded-side name): test/ingest.decode.test.ts.
 */
export const decodeStoreMemoryRequest = (input: unknown): Either.Either<StoreMemoryRequest, ParseResult.ParseError> =>
  // The object `new StoreMemoryRequest(fields, true)` makes (no field has a default to merge), without its copy.
  Either.map(decodeStoreMemoryFields(input), (fields): StoreMemoryRequest => Object.assign(Object.create(StoreMemoryRequest.prototype), fields))

/** A stored record as answered by the API: the record plus whether it already existed. */
export class StoredMemory extends MemoryRecord.extend<StoredMemory>("StoredMemory")({
  deduplicated: Schema.Boolean
}) {}

/** What PATCH /v1/memories/{id} and `Memory.update` take: the fields to change. New content is re-embedded. */
export class UpdateMemoryRequest extends Schema.Class<UpdateMemoryRequest>("UpdateMemoryRequest")(strictStruct({
  /** Which namespace the record is in (not a change: records do not move). */
  namespace: Schema.optional(Namespace),
  content: Schema.optional(Content),
  kind: Schema.optional(MemoryKind),
  tags: Schema.optional(Tags),
  metadata: Schema.optional(Metadata),
  /** Seconds from now; null removes the expiry. */
  ttlSeconds: Schema.optional(
    Schema.NullOr(Schema.Int.pipe(Schema.between(1, 10 * 365 * 24 * 3600, { message: () => "ttlSeconds must be a whole number of seconds from 1 to 10 years, or null" })))
  )
})) {}
