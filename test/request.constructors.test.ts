/**
 * The request classes whose wire form has a time (occurredAt, since/until) check in their
 * constructor with a validator built once (src/domain/ConstructorCheck.ts), as SearchRequest does
 * (test/search.request.test.ts): each keeps what it is given, equals what the schema decodes from
 * the wire, refuses what the schema refuses with a ParseError naming the class and the field, and
 * skips the check only when asked to.
 */
import { describe, expect, it } from "@effect/vitest"
import { Schema } from "effect"
import { ContextRequest } from "../src/domain/Context.ts"
import { DeleteWhereRequest } from "../src/domain/DeleteWhere.ts"
import { StoreMemoryRequest } from "../src/domain/Memory.ts"
import { AddMessageRequest } from "../src/domain/Session.ts"
import { refusal } from "./support/refusal.ts"

const at = new Date("2025-05-04T03:02:01.000Z")
const later = new Date("2025-06-01T00:00:00.000Z")

interface Case {
  readonly name: string
  readonly Class: new (props: never, options?: Schema.MakeOptions) => object
  readonly schema: Schema.Schema<object, never>
  readonly valid: Record<string, unknown>
  readonly wire: Record<string, unknown>
  readonly invalid: Record<string, unknown>
  readonly message: RegExp
}

const cases: ReadonlyArray<Case> = [
  {
    name: "StoreMemoryRequest",
    Class: StoreMemoryRequest,
    schema: StoreMemoryRequest as never,
    valid: { content: "the cat sat", namespace: "demo", tags: ["pets"], metadata: { a: 1 }, occurredAt: at },
    wire: { content: "the cat sat", namespace: "demo", tags: ["pets"], metadata: { a: 1 }, occurredAt: at.toISOString() },
    invalid: { content: "   " },
    message: /\["content"\][\s\S]*content must not be empty/
  },
  {
    name: "AddMessageRequest",
    Class: AddMessageRequest,
    schema: AddMessageRequest as never,
    valid: { role: "user", content: "hello", occurredAt: at },
    wire: { role: "user", content: "hello", occurredAt: at.toISOString() },
    invalid: { role: "robot", content: "hello" },
    message: /\["role"\]/
  },
  {
    name: "ContextRequest",
    Class: ContextRequest,
    schema: ContextRequest as never,
    valid: { query: "what about the cat", maxTokens: 500, since: at, until: later },
    wire: { query: "what about the cat", maxTokens: 500, since: at.toISOString(), until: later.toISOString() },
    invalid: { query: "q", since: later, until: at },
    message: /is after until/
  },
  {
    name: "DeleteWhereRequest",
    Class: DeleteWhereRequest,
    schema: DeleteWhereRequest as never,
    valid: { namespace: "demo", tags: ["old"], until: at },
    wire: { namespace: "demo", tags: ["old"], until: at.toISOString() },
    invalid: { namespace: "demo" },
    message: /say what to delete/
  }
]

describe.each(cases)("$name constructor", ({ Class, invalid, message, name, schema, valid, wire }) => {
  it("keeps the fields it is given, equal to what the schema decodes from the wire", () => {
    const made = new Class(valid as never)
    expect(made).toBeInstanceOf(Class)
    expect({ ...made }).toEqual(valid)
    expect(Schema.decodeUnknownSync(schema)(wire)).toEqual(made)
  })

  it("refuses what the schema refuses, naming the class and the field", () => {
    expect(refusal(() => new Class(invalid as never))).toMatch(new RegExp(`${name} \\(Constructor\\)`))
    expect(refusal(() => new Class(invalid as never))).toMatch(message)
    expect(refusal(() => new Class({ ...valid, unknownField: 1 } as never))).toMatch(/\["unknownField"\][\s\S]*is unexpected/)
  })

  it("skips the check only when asked to", () => {
    expect(new Class(invalid as never, true)).toBeInstanceOf(Class)
    expect(new Class(invalid as never, { disableValidation: true })).toBeInstanceOf(Class)
    expect(() => new Class(invalid as never, { disableValidation: false })).toThrow()
  })
})
