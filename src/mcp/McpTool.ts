/**
 * What an MCP tool is here: a name, a description written for a model, an
 * input Schema (decoded strictly: unknown fields are errors) and an output
 * Schema, both published as JSON Schema, and a run over the Memory service in
 * the namespace the caller may use. `tool` closes over the Schemas' types so a
 * list of tools of different shapes is one type.
 */
import { Effect, ParseResult, Schema } from "effect"
import { InvalidInput } from "../domain/errors.ts"
import type { Tenant } from "../http/Auth.ts"
import { resolveNamespace } from "../http/TenantNamespace.ts"
import type { Memory } from "../memory/Memory.ts"
import { type ObjectJsonSchema, objectJsonSchema, withDescriptions } from "./toolSchema.ts"

/** Every typed error the Memory service raises has a tag and a message safe to show. */
export interface ToolFailure {
  readonly _tag: string
  readonly message: string
}

/** A tool's answer, encoded for the wire (dates as ISO strings). */
export interface ToolSuccess {
  readonly namespace: string
  readonly value: { readonly [key: string]: unknown }
}

export interface McpTool {
  readonly name: string
  readonly title: string
  readonly description: string
  readonly inputSchema: ObjectJsonSchema
  readonly outputSchema: ObjectJsonSchema
  /** Decodes the arguments, settles the namespace and runs the tool. */
  readonly call: (memory: Memory, args: unknown) => Effect.Effect<ToolSuccess, ToolFailure, Tenant>
}

/** A decoding failure as the caller sees it: each problem with the path of the field it is in. */
export const invalidInput = (error: ParseResult.ParseError): InvalidInput => {
  const issues = ParseResult.ArrayFormatter.formatErrorSync(error)
  const message = issues.map((i) => (i.path.length === 0 ? i.message : `${i.path.join(".")}: ${i.message}`)).join("; ")
  const field = issues[0]?.path.join(".")
  return new InvalidInput({ message: message || "invalid arguments", ...(field ? { field } : {}) })
}

/**
 * A tool over a domain Schema: the arguments are decoded by it (its own rules
 * included, unknown fields refused) and its JSON Schema is what the model sees,
 * with `descriptions` for every argument in place of the generated ones. A field
 * added to the domain fails to compile here until it is described.
 */
export const tool = <A extends { readonly namespace?: string | undefined }, I, O extends object, IO extends object, E extends ToolFailure>(
  definition: {
    readonly name: string
    readonly title: string
    readonly description: string
    readonly input: Schema.Schema<A, I, never>
    readonly descriptions: { readonly [K in keyof A]-?: string }
    readonly output: Schema.Schema<O, IO, never>
    readonly run: (memory: Memory, input: A, namespace: string) => Effect.Effect<O, E>
  }
): McpTool => {
  const decode = Schema.decodeUnknown(definition.input, { onExcessProperty: "error" })
  const encode = Schema.encode(definition.output)
  return {
    name: definition.name,
    title: definition.title,
    description: definition.description,
    inputSchema: withDescriptions(objectJsonSchema(definition.input), definition.descriptions),
    outputSchema: objectJsonSchema(definition.output),
    call: (memory, args) =>
      Effect.gen(function*() {
        const input = yield* Effect.mapError(decode(args ?? {}), invalidInput)
        const namespace = yield* resolveNamespace(input.namespace).pipe(
          Effect.tapError(() => Effect.annotateCurrentSpan("memory.namespace", input.namespace ?? ""))
        )
        yield* Effect.annotateCurrentSpan("memory.namespace", namespace)
        const output = yield* definition.run(memory, input, namespace)
        // An answer that does not encode is a bug in the tool, not the caller's fault.
        const value = yield* Effect.orDie(encode(output))
        return { namespace, value: value as { readonly [key: string]: unknown } }
      })
  }
}
