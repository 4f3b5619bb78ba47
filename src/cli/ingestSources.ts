/**
 * What `agent-memory ingest` reads: files, folders (walked for text files) and
 * `-` (standard input, NDJSON). NDJSON / JSONL files stream through the batch
 * path line by line; other text files become documents (knowledge chunks
 * citing the file) or, with `--kind memory`, one memory each.
 */
import { createReadStream } from "node:fs"
import { readdir, readFile, stat } from "node:fs/promises"
import { sha256 } from "../lib/sha256.ts"
import { basename, extname, join, relative, resolve, sep } from "node:path"
import { Effect, Stream } from "effect"
import { InvalidInput } from "../domain/errors.ts"
import type { IngestItem } from "../memory/Ingest.ts"
import { ndjsonItems } from "../memory/ndjson.ts"

export const TEXT_EXTENSIONS = new Set([".md", ".markdown", ".txt", ".rst", ".adoc", ".org", ".html", ".htm", ".csv", ".json", ".yaml", ".yml"])
export const NDJSON_EXTENSIONS = new Set([".ndjson", ".jsonl"])

export type Source =
  | { readonly _tag: "ndjson"; readonly path: string }
  | { readonly _tag: "text"; readonly path: string; readonly relativePath: string }
  /** A path that could not be read: an outcome of the run, not the end of it. */
  | { readonly _tag: "unreadable"; readonly path: string; readonly message: string }

/**
 * A file's name in the store: the root argument's own name, then the path below it
 * (`docs/deep/a.md` for `ingest ~/x/docs`), the same from any working directory and
 * never with `..`; a file given by itself is its own name.
 */
const nameUnder = (root: string, path: string) => {
  const below = relative(resolve(root), resolve(path))
  const top = basename(resolve(root)) || "root"
  return (below === "" ? top : `${top}/${below}`).split(sep).join("/")
}

const walk = async (path: string, root: string): Promise<Array<Source>> => {
  const info = await stat(path)
  if (info.isDirectory()) {
    const entries = (await readdir(path)).filter((name) => !name.startsWith(".")).sort()
    return (await Promise.all(entries.map((name) => walk(join(path, name), root)))).flat()
  }
  const ext = extname(path).toLowerCase()
  if (NDJSON_EXTENSIONS.has(ext)) return [{ _tag: "ndjson", path }]
  if (TEXT_EXTENSIONS.has(ext) || path === root) {
    return [{ _tag: "text", path, relativePath: path === root ? basename(resolve(path)) : nameUnder(root, path) }]
  }
  return []
}

/** Every source under the given paths; `-` is standard input as NDJSON. A path that cannot be read is an `unreadable` source. */
export const listSources = (paths: ReadonlyArray<string>) =>
  Effect.promise(async () =>
    (await Promise.all(paths.map(async (p): Promise<Array<Source>> => {
      if (p === "-") return [{ _tag: "ndjson", path: "-" }]
      try {
        return await walk(p, p)
      } catch (e) {
        return [{ _tag: "unreadable", path: p, message: `cannot read ${p}: ${(e as Error).message}` }]
      }
    }))).flat()
  )

const ID = /^[A-Za-z0-9][A-Za-z0-9_.:@/-]*$/
/** Room left in an id (128) for a chunk's `:position`. */
const MAX_DOCUMENT_ID = 110

/**
 * The document id of a file: its name when that is a valid id, else (odd
 * characters, or too long) a readable prefix and a hash of the whole name, so
 * two files never share an id, however alike their names.
 */
export const documentId = (name: string): string => {
  if (ID.test(name) && name.length <= MAX_DOCUMENT_ID) return name
  const readable = name.replace(/[^A-Za-z0-9_.:@/-]/g, "_").replace(/^[^A-Za-z0-9]+/, "").slice(0, 80)
  const hash = sha256(name, "hex").slice(0, 20)
  return readable.length > 0 ? `${readable}@${hash}` : hash
}

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
