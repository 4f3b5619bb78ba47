/** NDJSON text as ingest items: one per non-blank line; a line that is not JSON is a failed item, not a failed stream. */
import { Stream } from "effect"
import { InvalidInput } from "../domain/errors.ts"
import type { IngestItem } from "./Ingest.ts"

export const ndjsonItems = <E, R>(text: Stream.Stream<string, E, R>, source = "item"): Stream.Stream<IngestItem, E, R> =>
  text.pipe(
    Stream.splitLines,
    Stream.filter((line) => line.trim().length > 0),
    Stream.zipWithIndex,
    Stream.map(([line, index]): IngestItem => {
      try {
        return { index, value: JSON.parse(line) as unknown }
      } catch (e) {
        return { index, error: new InvalidInput({ message: `${source} ${index} is not JSON: ${(e as Error).message}` }) }
      }
    })
  )
