/**
 * What `agent-memory ingest` reads: files, folders (walked for text files) and
 * `-` (standard input, NDJSON). NDJSON / JSONL files stream through the batch
 * path line by line; other text files become documents (knowledge chunks
 * citing the file) or, with `--kind memory`, one memory each.
 */
import { createReadStream } from "node:fs"
import { readdir, readFile, stat } from "node:fs/promises"
import { basename, extname, join, relative } from "node:path"
import { Effect, Stream } from "effect"
import { InvalidInput } from "../domain/errors.ts"
import type { IngestItem } from "../memory/Ingest.ts"
import { ndjsonItems } from "../memory/ndjson.ts"

export const TEXT_EXTENSIONS = new Set([".md", ".markdown", ".txt", ".rst", ".adoc", ".org", ".html", ".htm", ".csv", ".json", ".yaml", ".yml"])
export const NDJSON_EXTENSIONS = new Set([".ndjson", ".jsonl"])

export type Source =
  | { readonly _tag: "ndjson"; readonly path: string }
  | { readonly _tag: "text"; readonly path: string; readonly relativePath: string }

const walk = async (path: string, root: string): Promise<Array<Source>> => {
  const info = await stat(path)
  if (info.isDirectory()) {
    const entries = (await readdir(path)).filter((name) => !name.startsWith(".")).sort()
    return (await Promise.all(entries.map((name) => walk(join(path, name), root)))).flat()
  }
  const ext = extname(path).toLowerCase()
  if (NDJSON_EXTENSIONS.has(ext)) return [{ _tag: "ndjson", path }]
  if (TEXT_EXTENSIONS.has(ext) || path === root) return [{ _tag: "text", path, relativePath: relative(process.cwd(), path) || basename(path) }]
  return []
}

/** Every source under the given paths; `-` is standard input as NDJSON. */
export const listSources = (paths: ReadonlyArray<string>) =>
  Effect.tryPromise({
    try: async () => (await Promise.all(paths.map((p) => (p === "-" ? [{ _tag: "ndjson" as const, path: "-" }] : walk(p, p))))).flat(),
    catch: (e) => new InvalidInput({ message: `cannot read ${paths.join(", ")}: ${(e as Error).message}` })
  })

/** NDJSON lines as ingest items, read as they come. */
export const fileItems = (path: string): Stream.Stream<IngestItem, InvalidInput> =>
  ndjsonItems(
    Stream.fromAsyncIterable(
      path === "-" ? process.stdin : createReadStream(path),
      (e) => new InvalidInput({ message: `cannot read ${path}: ${(e as Error).message}` })
    ).pipe(
      // Bytes decoded as a stream, so a character split between two reads stays whole.
      Stream.map((chunk) => (typeof chunk === "string" ? Buffer.from(chunk) : (chunk as Buffer))),
      Stream.decodeText()
    ),
    `${path}: item`
  )

export const readText = (path: string) =>
  Effect.tryPromise({ try: () => readFile(path, "utf8"), catch: (e) => new InvalidInput({ message: `cannot read ${path}: ${(e as Error).message}` }) })
