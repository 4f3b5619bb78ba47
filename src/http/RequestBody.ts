/**
 * Reading request bodies, in one place: a JSON body is read up to
 * MEMORY_MAX_BODY bytes (the edge already refused a larger Content-Length;
 * this also bounds chunked bodies), decoded as strict UTF-8, depth-checked,
 * parsed and decoded by the route's schema. Every failure is a typed error
 * whose message names the field.
 */
import { HttpIncomingMessage, type HttpServerRequest } from "@effect/platform"
import { Context, Effect, Either, Layer, Option, ParseResult, Schema, Stream } from "effect"
import { describeParseError } from "../domain/describeParseError.ts"
import { InvalidInput, PayloadTooLarge } from "../domain/errors.ts"
import { EdgeSettings } from "./EdgeSettings.ts"
import { decodeUtf8, parseJson } from "./jsonText.ts"

export type BodyError = InvalidInput | PayloadTooLarge

export interface RequestBodyShape {
  /** The body as JSON, decoded by `schema`. */
  readonly json: <A, I>(schema: Schema.Schema<A, I, never>, request: HttpServerRequest.HttpServerRequest) => Effect.Effect<A, BodyError>
  readonly maxBody: number
}

export class RequestBody extends Context.Tag("agent-memory/RequestBody")<RequestBody, RequestBodyShape>() {}

const unreadable = (cause: { readonly message?: string }) =>
  new InvalidInput({ message: `the request body could not be read: ${cause.message ?? "connection closed"}` })

// Past the limit the rest of a chunked body is read and dropped, so the client (still sending) gets
// the 413 instead of a reset; past this many times the limit the connection is dropped instead.
const DRAIN_FACTOR = 16

/** All bytes of the body; past `limit` a PayloadTooLarge, without keeping what follows. */
export const readBytes = (request: HttpServerRequest.HttpServerRequest, limit: number): Effect.Effect<Uint8Array, BodyError> =>
  request.stream.pipe(
    Stream.mapError(unreadable),
    Stream.runFoldEffect({ parts: [] as Array<Uint8Array>, size: 0 }, (acc, chunk) => {
      acc.size += chunk.length
      if (acc.size <= limit) acc.parts.push(chunk)
      else if (acc.size > limit * DRAIN_FACTOR) return Effect.fail(PayloadTooLarge.of(limit))
      else acc.parts = []
      return Effect.succeed(acc)
    }),
    Effect.flatMap(({ parts, size }) =>
      size > limit
        ? Effect.fail(PayloadTooLarge.of(limit))
        : Effect.succeed(parts.length === 1 ? parts[0]! : Buffer.concat(parts, size))
    )
  )

/**
 * A body that declares its length within the limit: Node's parser frames it to exactly that many
 * bytes, so one bounded read (no Stream fold per chunk) holds all of it; anything else is streamed.
 */
const readDeclared = (request: HttpServerRequest.HttpServerRequest, limit: number): Effect.Effect<Uint8Array, BodyError> => {
  const length = request.headers["content-length"]
  if (length === undefined || request.headers["transfer-encoding"] !== undefined || !/^\d{1,15}$/.test(length) || Number(length) > limit) {
    return readBytes(request, limit)
  }
  return request.arrayBuffer.pipe(
    HttpIncomingMessage.withMaxBodySize(Option.some(limit)),
    Effect.mapBoth({ onFailure: unreadable, onSuccess: (body): Uint8Array => (body instanceof Uint8Array ? body : new Uint8Array(body)) })
  )
}

/** A whole JSON body, read, as `schema` decodes it: the decision, as a plain function of its bytes. */
export const decodeJsonBody = <A, I>(schema: Schema.Schema<A, I, never>) => {
  const decode = Schema.decodeUnknownEither(schema)
  return (bytes: Uint8Array): Either.Either<A, InvalidInput> => {
    if (bytes.length === 0) return Either.left(new InvalidInput({ message: "a JSON body is required" }))
    const json = Either.flatMap(decodeUtf8(bytes), parseJson)
    if (Either.isLeft(json)) return Either.left(new InvalidInput({ message: `the body ${json.left}` }))
    return Either.mapLeft(decode(json.right), invalid)
  }
}

export const make = (maxBody: number): RequestBodyShape => ({
  maxBody,
  json: <A, I>(schema: Schema.Schema<A, I, never>, request: HttpServerRequest.HttpServerRequest) => {
    const decode = decodeJsonBody(schema)
    return Effect.flatMap(readDeclared(request, maxBody), (bytes) => decode(bytes))
  }
})

const invalid = (error: ParseResult.ParseError) => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  const field = issue && issue.path.length > 0 ? issue.path.map(String).join(".") : undefined
  return new InvalidInput({ message: describeParseError(error), ...(field ? { field } : {}) })
}

export const layer = Layer.effect(RequestBody, Effect.map(EdgeSettings, ({ maxBody }) => make(maxBody)))
