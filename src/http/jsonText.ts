/**
 * Text to JSON for request bodies: strict UTF-8, a nesting limit checked
 * before parsing (deep input overflowed the error formatter's stack), and one
 * line saying what is wrong.
 */
import { Either } from "effect"
import { MAX_JSON_DEPTH } from "../domain/Storable.ts"

const utf8 = new TextDecoder("utf-8", { fatal: true })

/** Bytes as UTF-8 text; invalid sequences are an error, not U+FFFD. */
export const decodeUtf8 = (bytes: Uint8Array): Either.Either<string, string> => {
  try {
    return Either.right(utf8.decode(bytes))
  } catch {
    return Either.left("is not valid UTF-8")
  }
}

/** True when brackets outside strings nest deeper than `max`. */
export const nestedDeeperThan = (text: string, max: number): boolean => {
  let depth = 0
  let inString = false
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i)
    if (inString) {
      if (c === 92) i++ // backslash: skip the escaped character
      else if (c === 34) inString = false
    } else if (c === 34) inString = true
    else if (c === 123 || c === 91) {
      if (++depth > max) return true
    } else if (c === 125 || c === 93) depth--
  }
  return false
}

/** Parsed JSON, or what is wrong with the text (to follow "the body " or "item N "). */
export const parseJson = (text: string): Either.Either<unknown, string> => {
  if (nestedDeeperThan(text, MAX_JSON_DEPTH)) return Either.left(`is nested deeper than ${MAX_JSON_DEPTH} levels`)
  try {
    return Either.right(JSON.parse(text) as unknown)
  } catch (e) {
    return Either.left(`is not JSON: ${(e as Error).message}`)
  }
}
