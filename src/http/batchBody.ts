/**
 * The body of POST /v1/memories/batch as a stream of items: NDJSON is read
 * line by line as it arrives (never buffered whole), `{items:[…]}` is parsed
 * as JSON. A line that is not JSON becomes a failed item, not a failed request.
 */
import type { HttpServerRequest } from "@effect/platform"
import { Effect, Either, Schema, Stream } from "effect"
import { BatchRequest } from "../domain/Batch.ts"
import { InvalidInput } from "../domain/errors.ts"
import type { IngestDefaults, IngestItem } from "../memory/Ingest.ts"
import { describeParseError } from "../memory/Ingest.ts"
import { ndjsonItems } from "../memory/ndjson.ts"

const NDJSON = /^(application\/(x-)?ndjson|application\/jsonl|application\/x-jsonlines|text\/plain)\b/i

const unreadable = (cause: { readonly message?: string }) => new InvalidInput({ message: `the request body could not be read: ${cause.message ?? "unknown error"}` })

const requestItems = (request: HttpServerRequest.HttpServerRequest): Stream.Stream<IngestItem, InvalidInput> =>
  ndjsonItems(request.stream.pipe(Stream.mapError(unreadable), Stream.decodeText()))

const decodeBatch = Schema.decodeUnknownEither(BatchRequest)

/** The items and the defaults the body itself carries (`{items, namespace, kind}`). */
export const batchItems = (request: HttpServerRequest.HttpServerRequest) =>
  Effect.gen(function*() {
    if (NDJSON.test(request.headers["content-type"] ?? "")) {
      return { items: requestItems(request), defaults: {} as IngestDefaults }
    }
    const json = yield* request.json.pipe(
      Effect.mapError(() => new InvalidInput({ message: "the body is neither JSON {\"items\": […]} nor NDJSON (send Content-Type: application/x-ndjson)" }))
    )
    const body = decodeBatch(json)
    if (Either.isLeft(body)) return yield* new InvalidInput({ message: describeParseError(body.left) })
    return {
      items: Stream.fromIterable(body.right.items.map((value, index): IngestItem => ({ index, value }))),
      defaults: { namespace: body.right.namespace, kind: body.right.kind } as IngestDefaults
    }
  })
