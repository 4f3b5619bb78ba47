/** What a Schema class constructor refuses: the ParseError's message (failing the test if it accepts, or throws anything else). */
import { expect } from "@effect/vitest"
import { ParseResult } from "effect"

export const refusal = (make: () => unknown): string => {
  try {
    make()
  } catch (error) {
    expect(ParseResult.isParseError(error)).toBe(true)
    return (error as Error).message
  }
  throw new Error("the constructor accepted it")
}
