/**
 * The body of POST /memories/batch as a stream of items. NDJSON
 * (application/x-ndjson) is split into lines as it arrives, never buffered
 * whole: each line is at most MEMORY_MAX_BODY bytes (a longer one becomes a
 * failed item and is skipped, so a huge line costs no memory), strict UTF-8,
 * depth-checked JSON. A bad line is a failed item, not a failed request.
 * `{items:[…]}` is a JSON body like any other, with the body limit.
 */
import type { HttpServerRequest } from "@effect/platform"
import { Effect, Either, Stream } from "effect"
import { BatchRequest } from "../domain/Batch.ts"
import { InvalidInput } from "../domain/errors.ts"
import type { IngestDefaults, IngestItem } from "../memory/Ingest.ts"
import { decodeUtf8, parseJson } from "./jsonText.ts"
import type { RequestBodyShape } from "./RequestBody.ts"

export const isNdjson = (contentType: string | undefined) => /^application\/(x-)?ndjson\s*(;|$)/i.test(contentType ?? "")

type Line = { readonly _tag: "Line"; readonly bytes: Uint8Array } | { readonly _tag: "TooLong" }

const NEWLINE = 10

const concat = (parts: ReadonlyArray<Uint8Array>, size: number) => (parts.length === 1 ? parts[0]! : Buffer.concat(parts, size))

/** Bytes split at \n (never inside a UTF-8 sequence) into lines of at most `max` bytes. */
export const boundedLines = (max: number) => <E, R>(bytes: Stream.Stream<Uint8Array, E, R>): Stream.Stream<Line, E, R> =>
  Stream.suspend(() => {
    let parts: Array<Uint8Array> = []
    let size = 0
    let tooLong = false
    const take = (piece: Uint8Array) => {
      if (tooLong) return
      if (size + piece.length > max) {
        tooLong = true
        parts = []
        size = 0
      } else if (piece.length > 0) {
        parts.push(piece)
        size += piece.length
      }
    }
    const end = (): Line => {
      const line: Line = tooLong ? { _tag: "TooLong" } : { _tag: "Line", bytes: concat(parts, size) }
      parts = []
      size = 0
      tooLong = false
      return line
    }
    const lines = Stream.mapConcat(bytes, (chunk) => {
      const out: Array<Line> = []
      let start = 0
      for (;;) {
        const newline = chunk.indexOf(NEWLINE, start)
        take(chunk.subarray(start, newline === -1 ? chunk.length : newline))
        if (newline === -1) return out
        out.push(end())
        start = newline + 1
      }
    })
    return Stream.concat(lines, Stream.suspend(() => (size > 0 || tooLong ? Stream.make(end()) : Stream.empty)))
  })

const isBlank = (line: Line) => line._tag === "Line" && line.bytes.every((b) => b === 32 || b === 9 || b === 13)

/** NDJSON lines as ingest items, numbered among the non-blank lines. */
export const ndjsonItems = <E, R>(bytes: Stream.Stream<Uint8Array, E, R>, maxLine: number): Stream.Stream<IngestItem, E, R> =>
  bytes.pipe(
    boundedLines(maxLine),
    Stream.filter((line) => !isBlank(line)),
    Stream.zipWithIndex,
    Stream.map(([line, index]): IngestItem => {
      if (line._tag === "TooLong") {
        return { index, error: new InvalidInput({ message: `item ${index} is longer than ${maxLine} bytes (MEMORY_MAX_BODY)` }) }
      }
      const value = Either.flatMap(decodeUtf8(line.bytes), parseJson)
      return Either.isRight(value)
        ? { index, value: value.right }
        : { index, error: new InvalidInput({ message: `item ${index} ${value.left}` }) }
    })
  )

const unreadable = (cause: { readonly message?: string }) =>
  new InvalidInput({ message: `the request body could not be read: ${cause.message ?? "connection closed"}` })

/** The items, and the defaults the body itself carries (`{items, namespace, kind}`; NDJSON carries none). */
export const batchItems = (request: HttpServerRequest.HttpServerRequest, body: RequestBodyShape) =>
  isNdjson(request.headers["content-type"])
    ? Effect.succeed({
      items: ndjsonItems(Stream.mapError(request.stream, unreadable), body.maxBody),
      defaults: {} as IngestDefaults,
      ndjson: true
    })
    : Effect.map(body.json(BatchRequest, request), (batch) => ({
      items: Stream.fromIterable(batch.items.map((value, index): IngestItem => ({ index, value }))),
      defaults: { namespace: batch.namespace, kind: batch.kind } as IngestDefaults,
      ndjson: false
    }))
