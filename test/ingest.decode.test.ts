/**
 * decodeStoreMemoryRequest (what ingest decodes untyped items with) answers exactly what
 * Schema.decodeUnknownEither(StoreMemoryRequest) answers: the same instance for every valid
 * item, the same one-line error for every invalid one.
 */
import { describe, expect, it } from "vitest"
import { Either, Schema } from "effect"
import { describeParseError } from "../src/domain/describeParseError.ts"
import { decodeStoreMemoryRequest, StoreMemoryRequest } from "../src/domain/Memory.ts"

const byTheClass = Schema.decodeUnknownEither(StoreMemoryRequest)

const inputs: ReadonlyArray<unknown> = [
  // valid
  { content: "harbour seals rest on rocks" },
  { content: "x", id: "rec-1", namespace: "team-a", kind: "knowledge", tags: ["a", "b"], metadata: { n: 1, nested: { ok: true } } },
  { content: "x", sessionId: "s1", ttlSeconds: 60, occurredAt: "2024-05-01T12:30:00Z" },
  { content: "x", occurredAt: "1999-12-31" },
  { content: "x", kind: "message", metadata: {} },
  // invalid
  "abc", null, 5, [], {}, { content: "" }, { content: "   " }, { content: 7 },
  { content: "x", extra: 1 }, { content: "x", occurredAt: "nope" }, { content: "x", tags: [""] },
  { content: "x", tags: "a" }, { content: "x", kind: "gossip" }, { content: "x", ttlSeconds: 0 }, { content: "x", ttlSeconds: 1.5 },
  { content: "x", id: "" }, { content: "x", id: "a".repeat(500) }, { content: "x", namespace: "bad namespace!" },
  { content: "x", metadata: [] }, { content: "x", metadata: { k: "a\u0000b" } }, { content: "a\u0000b" },
  { content: "x".repeat(70_000) }, { content: "x", tags: Array.from({ length: 100 }, (_, i) => `t${i}`) }
]

describe("decodeStoreMemoryRequest", () => {
  it.each(inputs.map((input) => [JSON.stringify(input).slice(0, 80), input]))("%s: as the class decodes it", (_, input) => {
    const ours = decodeStoreMemoryRequest(input)
    const theirs = byTheClass(input)
    expect(ours._tag).toBe(theirs._tag)
    if (Either.isRight(ours) && Either.isRight(theirs)) {
      expect(ours.right).toBeInstanceOf(StoreMemoryRequest)
      expect({ ...ours.right }).toEqual({ ...theirs.right })
    }
    if (Either.isLeft(ours) && Either.isLeft(theirs)) expect(describeParseError(ours.left)).toBe(describeParseError(theirs.left))
  })

  it("the valid inputs above are valid and the rest are not (the cases test both sides)", () => {
    expect(inputs.map((input) => Either.isRight(decodeStoreMemoryRequest(input))).filter(Boolean).length).toBe(5)
  })
})
