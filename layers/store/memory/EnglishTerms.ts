/**
 * Terms as PostgreSQL's `to_tsvector('english', …)` makes them, for the
 * in-memory store, so that it ranks keyword searches like the SQL stores:
 * lower-cased words, PostgreSQL's English stop words left out, words of letters
 * stemmed with Snowball's English (Porter2) stemmer, words with digits kept as
 * written (`e4012`), and a hyphenated word kept whole beside its parts.
 * PostgreSQL's parser also keeps URLs, e-mail addresses, file names and
 * versions whole; here they fall apart into their words.
 */
import stem from "wink-porter2-stemmer"

/** PostgreSQL's tsearch_data/english.stop. */
const STOP_WORDS = new Set(
  ("i me my myself we our ours ourselves you your yours yourself yourselves he him his himself she her hers herself " +
    "it its itself they them their theirs themselves what which who whom this that these those am is are was were be " +
    "been being have has had having do does did doing a an the and but if or because as until while of at by for with " +
    "about against between into through during before after above below to from up down in out on off over under again " +
    "further then once here there when where why how all any both each few more most other some such no nor not only " +
    "own same so than too very s t can will just don should now").split(" ")
)

const TOKEN = /\p{N}+(?:\.\p{N}+)+|[\p{L}\p{N}]+(?:-[\p{L}\p{N}]+)*/gu
const LETTERS = /^\p{L}+(?:-\p{L}+)*$/u

const term = (word: string): string | undefined => {
  if (STOP_WORDS.has(word)) return undefined
  return LETTERS.test(word) ? stem(word) : word
}

/** Term → how often it occurs. */
export const englishTerms = (text: string): Map<string, number> => {
  const counts = new Map<string, number>()
  const add = (word: string) => {
    const t = term(word)
    if (t !== undefined && t.length > 0) counts.set(t, (counts.get(t) ?? 0) + 1)
  }
  for (const token of text.toLowerCase().match(TOKEN) ?? []) {
    if (token.includes("-")) {
      // PostgreSQL indexes a hyphenated word whole and each of its parts.
      add(token)
      for (const part of token.split("-")) add(part)
    } else {
      add(token)
    }
  }
  return counts
}
