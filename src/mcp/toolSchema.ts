/**
 * JSON Schema for MCP tool inputs and outputs, derived from the domain Schemas
 * with effect's JSONSchema.make. MCP clients hand these schemas to a model, and
 * several of them resolve neither `$ref` nor `allOf`, so the derived schema is
 * made self-contained: references inlined, single-member `allOf` folded into
 * its parent, and the generated titles (e.g. "maxLength(64)") dropped, since
 * the descriptions say what a field is for.
 */
import { JSONSchema, type Schema } from "effect"

/** A JSON Schema object as MCP carries it (`inputSchema` / `outputSchema`). */
export interface ObjectJsonSchema {
  readonly type: "object"
  readonly properties?: Record<string, object>
  readonly required?: ReadonlyArray<string>
  readonly [key: string]: unknown
}

type Json = null | boolean | number | string | ReadonlyArray<Json> | { readonly [key: string]: Json }
type JsonObject = { readonly [key: string]: Json }

const isObject = (u: Json): u is JsonObject => typeof u === "object" && u !== null && !Array.isArray(u)

const DROPPED = new Set(["$schema", "$defs", "$id", "title"])

const simplify = (node: Json, defs: JsonObject, seen: ReadonlySet<string>): Json => {
  if (Array.isArray(node)) return node.map((n) => simplify(n, defs, seen))
  if (!isObject(node)) return node
  let merged: Record<string, Json> = {}
  const ref = node["$ref"]
  if (typeof ref === "string" && ref.startsWith("#/$defs/")) {
    const name = ref.slice("#/$defs/".length)
    // A recursive schema keeps its reference (the domain has none today).
    if (seen.has(name) || !(name in defs)) return node
    const target = simplify(defs[name]!, defs, new Set([...seen, name]))
    if (isObject(target)) merged = { ...target }
  }
  const allOf = node["allOf"]
  if (Array.isArray(allOf) && allOf.length === 1) {
    const only = simplify(allOf[0]!, defs, seen)
    if (isObject(only)) merged = { ...merged, ...only }
  }
  for (const [key, value] of Object.entries(node)) {
    if (DROPPED.has(key) || key === "$ref" || (key === "allOf" && Array.isArray(value) && value.length === 1)) continue
    // A field's own annotations (its description, its bounds) win over the referenced schema's.
    merged[key] = key === "properties" && isObject(value)
      ? Object.fromEntries(Object.entries(value).map(([k, v]) => [k, simplify(v, defs, seen)]))
      : simplify(value, defs, seen)
  }
  return merged
}

/** The self-contained JSON Schema of an object-shaped Schema. */
export const objectJsonSchema = <A, I>(schema: Schema.Schema<A, I, never>): ObjectJsonSchema => {
  const made = JSONSchema.make(schema) as unknown as JsonObject
  const defs = isObject(made["$defs"] ?? null) ? (made["$defs"] as JsonObject) : {}
  const simple = simplify(made, defs, new Set())
  if (!isObject(simple) || simple["type"] !== "object") {
    throw new Error(`an MCP tool schema must describe an object, got ${JSON.stringify(simple).slice(0, 200)}`)
  }
  return simple as ObjectJsonSchema
}

/** The schema with each named property's description replaced: descriptions written for a model. */
export const withDescriptions = (schema: ObjectJsonSchema, descriptions: { readonly [key: string]: string }): ObjectJsonSchema => ({
  ...schema,
  properties: Object.fromEntries(
    Object.entries(schema.properties ?? {}).map(([key, property]) => [
      key,
      descriptions[key] === undefined ? property : { ...property, description: descriptions[key] }
    ])
  )
})
