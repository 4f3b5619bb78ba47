/**
 * Typed errors that cross the library and HTTP boundary. Each carries its HTTP
 * status, so the API maps them without a translation table, and a plain
 * `message` that is safe to show (no secrets, no SQL).
 */
import { HttpApiSchema } from "@effect/platform"
import { Schema } from "effect"

export class InvalidInput extends Schema.TaggedError<InvalidInput>()(
  "InvalidInput",
  { message: Schema.String, field: Schema.optional(Schema.String) },
  HttpApiSchema.annotations({ status: 400 })
) {}

export class MemoryNotFound extends Schema.TaggedError<MemoryNotFound>()(
  "MemoryNotFound",
  { message: Schema.String, id: Schema.String, namespace: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {
  static of(namespace: string, id: string) {
    return new MemoryNotFound({ id, namespace, message: `no memory ${JSON.stringify(id)} in namespace ${JSON.stringify(namespace)}` })
  }
}

export class IdConflict extends Schema.TaggedError<IdConflict>()(
  "IdConflict",
  { message: Schema.String, id: Schema.String, namespace: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {
  static of(namespace: string, id: string) {
    return new IdConflict({ id, namespace, message: `a different memory with id ${JSON.stringify(id)} already exists in namespace ${JSON.stringify(namespace)}` })
  }
}

/** A vector whose width is not the store's: a misconfigured embedder or a table made for another model. */
export class DimensionMismatch extends Schema.TaggedError<DimensionMismatch>()(
  "DimensionMismatch",
  { message: Schema.String, expected: Schema.Number, actual: Schema.Number },
  HttpApiSchema.annotations({ status: 500 })
) {
  static of(expected: number, actual: number, where: string) {
    return new DimensionMismatch({
      expected,
      actual,
      message: `${where}: vectors are ${actual} wide but the store expects ${expected} (set MEMORY_DIMENSIONS to match, or use a fresh table)`
    })
  }
}

export class StoreUnavailable extends Schema.TaggedError<StoreUnavailable>()(
  "StoreUnavailable",
  {
    message: Schema.String,
    /** For a batch none of whose items could be stored: how many items failed with it. */
    failedCount: Schema.optional(Schema.Int)
  },
  HttpApiSchema.annotations({ status: 503 })
) {}

export class EmbeddingFailed extends Schema.TaggedError<EmbeddingFailed>()(
  "EmbeddingFailed",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 502 })
) {}

/** The configured reranker (MEMORY_RERANKER) did not answer, or answered something that is not a ranking. */
export class RerankFailed extends Schema.TaggedError<RerankFailed>()(
  "RerankFailed",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 502 })
) {}

/** An update that would make a record's content the same as another record's in its namespace and kind. */
export class DuplicateContent extends Schema.TaggedError<DuplicateContent>()(
  "DuplicateContent",
  { message: Schema.String, id: Schema.String, existingId: Schema.String },
  HttpApiSchema.annotations({ status: 409 })
) {
  static of(id: string, existingId: string) {
    return new DuplicateContent({ id, existingId, message: `the new content of ${JSON.stringify(id)} is already stored as ${JSON.stringify(existingId)}` })
  }
}

export class KeyNotFound extends Schema.TaggedError<KeyNotFound>()(
  "KeyNotFound",
  { message: Schema.String, key: Schema.String, namespace: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {
  static of(namespace: string, key: string) {
    return new KeyNotFound({ key, namespace, message: `nothing remembered as ${JSON.stringify(key)} in namespace ${JSON.stringify(namespace)}` })
  }
}

export class Unauthorized extends Schema.TaggedError<Unauthorized>()(
  "Unauthorized",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 401 })
) {}

export class Forbidden extends Schema.TaggedError<Forbidden>()(
  "Forbidden",
  /** The namespace refused, when a namespace is what was refused (not an origin or an admin route). */
  { message: Schema.String, namespace: Schema.optional(Schema.String) },
  HttpApiSchema.annotations({ status: 403 })
) {
  static of(namespace: string) {
    return new Forbidden({ namespace, message: `this API key may not use namespace ${JSON.stringify(namespace)}` })
  }
}

/** A request body (or one NDJSON line) over MEMORY_MAX_BODY. */
export class PayloadTooLarge extends Schema.TaggedError<PayloadTooLarge>()(
  "PayloadTooLarge",
  { message: Schema.String, limit: Schema.Int },
  HttpApiSchema.annotations({ status: 413 })
) {
  static of(limit: number, what = "the request body") {
    return new PayloadTooLarge({ limit, message: `${what} is larger than ${limit} bytes (MEMORY_MAX_BODY)` })
  }
}

/** A body in a content type the route does not take (only JSON; NDJSON too on the batch route). */
export class UnsupportedMediaType extends Schema.TaggedError<UnsupportedMediaType>()(
  "UnsupportedMediaType",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 415 })
) {}

/** No route has this path. */
export class NotFound extends Schema.TaggedError<NotFound>()(
  "NotFound",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 404 })
) {}

/** The path exists, not with this method. */
export class MethodNotAllowed extends Schema.TaggedError<MethodNotAllowed>()(
  "MethodNotAllowed",
  { message: Schema.String, allowed: Schema.Array(Schema.String) },
  HttpApiSchema.annotations({ status: 405 })
) {}

/** A Host header that is not this server's (DNS rebinding): 421. */
export class MisdirectedRequest extends Schema.TaggedError<MisdirectedRequest>()(
  "MisdirectedRequest",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 421 })
) {}

/** The server is draining for shutdown: the request was not started. */
export class ShuttingDown extends Schema.TaggedError<ShuttingDown>()(
  "ShuttingDown",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 503 })
) {}

/** A defect: a bug, answered as JSON rather than an empty 500 (details go to the log, not the client). */
export class InternalError extends Schema.TaggedError<InternalError>()(
  "InternalError",
  { message: Schema.String },
  HttpApiSchema.annotations({ status: 500 })
) {}
