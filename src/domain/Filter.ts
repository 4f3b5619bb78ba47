/**
 * The metadata filter language (CONTRACT.md): `{field: value}` equality, the
 * operators `$eq $ne $gt $gte $lt $lte $in $nin $exists $contains` per field,
 * and `$and $or $not` to combine. A field may be a dotted path into nested
 * objects. The wire form is plain JSON; `parseFilter` checks it (field names
 * included, so no provider ever sees an unchecked name) and turns it into a
 * small tree that each store compiles: parameterised SQL, or a predicate.
 *
 * Semantics, the same in every store:
 * - `$eq` / a bare value: the field holds exactly that scalar (an array holding it does not match);
 * - `$ne`, `$nin`: also match records where the field is missing;
 * - `$gt $gte $lt $lte`: the field is of the value's type (number or string) and compares so;
 * - `$in`: the field equals one of the scalars;
 * - `$exists`: the path is present (a JSON null counts as present);
 * - `$contains`: an array field holds the scalar, or a string field contains the string.
 */
import { Either, Schema } from "effect"
import { jsonProblem } from "./Storable.ts"

export type Scalar = string | number | boolean | null

export type FilterNode =
  | { readonly _tag: "And"; readonly nodes: ReadonlyArray<FilterNode> }
  | { readonly _tag: "Or"; readonly nodes: ReadonlyArray<FilterNode> }
  | { readonly _tag: "Not"; readonly node: FilterNode }
  | { readonly _tag: "Eq" | "Ne"; readonly path: ReadonlyArray<string>; readonly value: Scalar }
  | { readonly _tag: "Gt" | "Gte" | "Lt" | "Lte"; readonly path: ReadonlyArray<string>; readonly value: number | string }
  | { readonly _tag: "In" | "Nin"; readonly path: ReadonlyArray<string>; readonly values: ReadonlyArray<Scalar> }
  | { readonly _tag: "Exists"; readonly path: ReadonlyArray<string>; readonly exists: boolean }
  | { readonly _tag: "Contains"; readonly path: ReadonlyArray<string>; readonly value: Scalar }

export const FILTER_FIELD = /^[A-Za-z_][A-Za-z0-9_-]{0,63}(\.[A-Za-z_][A-Za-z0-9_-]{0,63}){0,7}$/
const MAX_DEPTH = 6
const MAX_CLAUSES = 64
const MAX_IN = 256

const isScalar = (u: unknown): u is Scalar =>
  u === null || typeof u === "string" || typeof u === "boolean" || (typeof u === "number" && Number.isFinite(u))
const isObject = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)

class FilterProblem {
  constructor(readonly message: string) {}
}

/** Checks a filter and builds its tree; the error names where in the filter the problem is. */
export const parseFilter = (input: unknown): Either.Either<FilterNode, string> => {
  let clauses = 0
  const fail = (where: string, what: string): never => {
    throw new FilterProblem(`${where}: ${what}`)
  }
  const node = (value: unknown, where: string, depth: number): FilterNode => {
    if (depth > MAX_DEPTH) fail(where, `nested deeper than ${MAX_DEPTH} levels`)
    if (!isObject(value)) return fail(where, "must be an object")
    const nodes: Array<FilterNode> = []
    for (const [key, v] of Object.entries(value)) {
      if (++clauses > MAX_CLAUSES) fail(where, `more than ${MAX_CLAUSES} conditions`)
      const at = `${where}.${key}`
      if (key === "$and" || key === "$or") {
        if (!Array.isArray(v) || v.length === 0) fail(at, "must be a non-empty array of filters")
        const children = (v as Array<unknown>).map((c, i) => node(c, `${at}[${i}]`, depth + 1))
        nodes.push({ _tag: key === "$and" ? "And" : "Or", nodes: children })
      } else if (key === "$not") {
        nodes.push({ _tag: "Not", node: node(v, at, depth + 1) })
      } else if (key.startsWith("$")) {
        fail(at, "unknown operator (fields use $eq $ne $gt $gte $lt $lte $in $nin $exists $contains; filters combine with $and $or $not)")
      } else {
        if (!FILTER_FIELD.test(key)) fail(at, "a field is a name of letters, digits, _ and - (dots for nested fields)")
        nodes.push(...field(key.split("."), v, at))
      }
    }
    return nodes.length === 1 ? nodes[0]! : { _tag: "And", nodes }
  }
  const field = (path: ReadonlyArray<string>, value: unknown, where: string): Array<FilterNode> => {
    if (isScalar(value)) return [{ _tag: "Eq", path, value }]
    if (!isObject(value)) return fail(where, "must be a scalar (string, number, boolean, null) or an object of operators")
    const out: Array<FilterNode> = []
    for (const [op, v] of Object.entries(value)) {
      const at = `${where}.${op}`
      switch (op) {
        case "$eq":
        case "$ne":
        case "$contains":
          if (!isScalar(v)) fail(at, "must be a string, number, boolean or null")
          out.push({ _tag: op === "$eq" ? "Eq" : op === "$ne" ? "Ne" : "Contains", path, value: v as Scalar })
          break
        case "$gt":
        case "$gte":
        case "$lt":
        case "$lte":
          if (typeof v !== "string" && !(typeof v === "number" && Number.isFinite(v))) fail(at, "must be a number or a string")
          out.push({ _tag: op === "$gt" ? "Gt" : op === "$gte" ? "Gte" : op === "$lt" ? "Lt" : "Lte", path, value: v as number | string })
          break
        case "$in":
        case "$nin":
          if (!Array.isArray(v) || !v.every(isScalar)) fail(at, "must be an array of strings, numbers, booleans or nulls")
          if ((v as Array<Scalar>).length > MAX_IN) fail(at, `at most ${MAX_IN} values`)
          out.push({ _tag: op === "$in" ? "In" : "Nin", path, values: v as Array<Scalar> })
          break
        case "$exists":
          if (typeof v !== "boolean") fail(at, "must be true or false")
          out.push({ _tag: "Exists", path, exists: v as boolean })
          break
        default:
          fail(at, "unknown operator (use $eq $ne $gt $gte $lt $lte $in $nin $exists $contains)")
      }
    }
    if (out.length === 0) fail(where, "an operator object needs at least one operator")
    return out
  }
  try {
    return Either.right(node(input, "filter", 0))
  } catch (e) {
    if (e instanceof FilterProblem) return Either.left(e.message)
    throw e
  }
}

/** The wire form: a JSON object, checked by `parseFilter`. */
export const MetadataFilter = Schema.Record({ key: Schema.String, value: Schema.Unknown }).pipe(
  Schema.filter((f) => Either.match(parseFilter(f), { onLeft: (message) => message, onRight: () => jsonProblem(f, ["filter"]) ?? true })),
  Schema.annotations({
    identifier: "MetadataFilter",
    description: "{field: value} equality, $eq $ne $gt $gte $lt $lte $in $nin $exists $contains per field, $and $or $not"
  })
)
export type MetadataFilter = typeof MetadataFilter.Type

/** The tree of a filter already checked by the schema. */
export const filterTree = (filter: MetadataFilter): FilterNode =>
  Either.getOrThrowWith(parseFilter(filter), (message) => new Error(`unchecked filter: ${message}`))

const MISSING = Symbol("missing")

const at = (metadata: unknown, path: ReadonlyArray<string>): unknown => {
  let node = metadata
  for (const part of path) {
    if (!isObject(node) || !(part in node)) return MISSING
    node = node[part]
  }
  return node
}

const compare = (actual: unknown, expected: number | string): number | undefined =>
  typeof actual === typeof expected ? (actual as number | string) < expected ? -1 : (actual as number | string) > expected ? 1 : 0 : undefined

/** The filter as a predicate on a record's metadata, for stores that hold records in memory. */
export const matches = (metadata: Record<string, unknown>, node: FilterNode): boolean => {
  switch (node._tag) {
    case "And":
      return node.nodes.every((n) => matches(metadata, n))
    case "Or":
      return node.nodes.some((n) => matches(metadata, n))
    case "Not":
      return !matches(metadata, node.node)
    case "Eq":
      return at(metadata, node.path) === node.value
    case "Ne":
      return at(metadata, node.path) !== node.value
    case "Gt":
      return (compare(at(metadata, node.path), node.value) ?? -1) > 0
    case "Gte":
      return (compare(at(metadata, node.path), node.value) ?? -1) >= 0
    case "Lt":
      return (compare(at(metadata, node.path), node.value) ?? 1) < 0
    case "Lte":
      return (compare(at(metadata, node.path), node.value) ?? 1) <= 0
    case "In":
      return node.values.includes(at(metadata, node.path) as Scalar)
    case "Nin":
      return !node.values.includes(at(metadata, node.path) as Scalar)
    case "Exists":
      return (at(metadata, node.path) !== MISSING) === node.exists
    case "Contains": {
      const value = at(metadata, node.path)
      if (Array.isArray(value)) return value.includes(node.value)
      return typeof value === "string" && typeof node.value === "string" && value.includes(node.value)
    }
  }
}
