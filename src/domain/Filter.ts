/**
 * The metadata filter: `{ field: value }` equality on JSON metadata, where a
 * field may be a dotted path into nested objects. Field names are validated
 * here so that no provider ever sees an unchecked name.
 */
import { Schema } from "effect"

export const FILTER_FIELD = /^[A-Za-z_][A-Za-z0-9_-]{0,63}(\.[A-Za-z_][A-Za-z0-9_-]{0,63}){0,7}$/

export const FilterScalar = Schema.Union(
  Schema.String,
  Schema.Number.pipe(Schema.finite()),
  Schema.Boolean,
  Schema.Null
)
export type FilterScalar = typeof FilterScalar.Type

// Keys are checked by a filter, not a refined key schema: a Record drops keys its key schema rejects.
export const MetadataFilter = Schema.Record({ key: Schema.String, value: FilterScalar }).pipe(
  Schema.filter((f) => {
    const bad = Object.keys(f).find((field) => !FILTER_FIELD.test(field))
    return bad === undefined ||
      `filter field ${JSON.stringify(bad)} is not a name of letters, digits, _ and - (dots for nested fields)`
  }),
  Schema.filter((f) => Object.keys(f).length <= 32, { message: () => "a filter has at most 32 fields" }),
  Schema.filter((f) => {
    const fields = Object.keys(f)
    const clash = fields.find((a) => fields.some((b) => b.startsWith(a + ".")))
    return clash === undefined || `filter field "${clash}" cannot be compared both as a value and as an object`
  })
)
export type MetadataFilter = typeof MetadataFilter.Type

/** `{"a.b": 1}` → `{"a": {"b": 1}}`: the JSON that `metadata @> …` containment matches. */
export const toContainment = (filter: MetadataFilter): Record<string, unknown> => {
  const root: Record<string, unknown> = {}
  for (const [path, value] of Object.entries(filter)) {
    const parts = path.split(".")
    let node = root
    for (const part of parts.slice(0, -1)) {
      const next = node[part]
      node = (typeof next === "object" && next !== null ? next : (node[part] = {})) as Record<string, unknown>
    }
    node[parts[parts.length - 1]!] = value
  }
  return root
}

/** The same semantics in memory, for the in-process store. */
export const matchesFilter = (metadata: Record<string, unknown>, filter: MetadataFilter): boolean =>
  Object.entries(filter).every(([path, expected]) => {
    let node: unknown = metadata
    for (const part of path.split(".")) {
      if (typeof node !== "object" || node === null || !(part in node)) return false
      node = (node as Record<string, unknown>)[part]
    }
    return node === expected
  })
