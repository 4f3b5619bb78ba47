/**
 * Text PostgreSQL can store: no NUL character (text and jsonb refuse U+0000)
 * and no lone UTF-16 surrogate (not encodable as UTF-8). Checked in the
 * schemas, so the error names the field instead of the store failing later.
 */
import { Schema } from "effect"

/** Deeper JSON is refused at the HTTP edge; the walk below stops there too. */
export const MAX_JSON_DEPTH = 64

// In `u` mode a surrogate pair is one code point, so only a lone surrogate is in category Cs.
const LONE_SURROGATE = /\p{Cs}/u

/** What is wrong with a string, or undefined when it can be stored. */
export const textProblem = (s: string): string | undefined =>
  s.includes("\u0000")
    ? "contains a NUL character (U+0000), which cannot be stored"
    : LONE_SURROGATE.test(s)
    ? "contains a lone UTF-16 surrogate (not valid Unicode)"
    : undefined

/** A string filter naming the problem; the field is named by the schema path. */
export const storableText = <S extends Schema.Schema<string, string, never>>(self: S) =>
  self.pipe(Schema.filter((s) => textProblem(s) ?? true))

/** A problem found inside a JSON value: the keys leading to it, innermost first (filled in on the way out). */
interface Found {
  readonly reversedPath: Array<string>
  readonly problem: string
}

// No path array is built on the way down: a value with nothing wrong (nearly all of them) allocates nothing.
const findProblem = (value: unknown, depth: number): Found | undefined => {
  if (depth > MAX_JSON_DEPTH) return { reversedPath: [], problem: `nested deeper than ${MAX_JSON_DEPTH} levels` }
  if (typeof value === "string") {
    const problem = textProblem(value)
    return problem === undefined ? undefined : { reversedPath: [], problem }
  }
  if (typeof value === "number") return Number.isFinite(value) ? undefined : { reversedPath: [], problem: "must be a finite number" }
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) {
      const found = findProblem(value[i], depth + 1)
      if (found) return (found.reversedPath.push(String(i)), found)
    }
  } else if (typeof value === "object" && value !== null) {
    for (const key in value) {
      if (!Object.hasOwn(value, key)) continue
      const keyProblem = textProblem(key)
      if (keyProblem) return { reversedPath: [], problem: `a key ${keyProblem}` }
      const found = findProblem((value as Record<string, unknown>)[key], depth + 1)
      if (found) return (found.reversedPath.push(key), found)
    }
  }
  return undefined
}

/** The first unstorable string (key or value) inside a JSON value, as `path: problem`. */
export const jsonProblem = (value: unknown, path: ReadonlyArray<string> = []): string | undefined => {
  const found = findProblem(value, 0)
  if (found === undefined) return undefined
  const full = [...path, ...found.reversedPath.reverse()]
  return full.length > 0 ? `${full.join(".")}: ${found.problem}` : found.problem
}

/** A JSON-valued schema (metadata, a kv value, a filter) whose strings can all be stored. */
export const storableJson = <A, I>(self: Schema.Schema<A, I, never>) => self.pipe(Schema.filter((v) => jsonProblem(v) ?? true))
