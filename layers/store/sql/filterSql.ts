/**
 * The filter tree as parameterised SQL over the `metadata` jsonb column. Every
 * value and every path travels as a parameter; the only SQL text is ours.
 * Equality uses containment (`@>`), which the GIN index on metadata answers.
 * Every leaf is true or false, never NULL, so `$not` means what it says.
 */
import type { Statement } from "@effect/sql"
import type { SqlClient } from "@effect/sql/SqlClient"
import type { FilterNode, Scalar } from "../../../src/domain/Filter.ts"
import { textArrayLiteral } from "./pgText.ts"

/** `["a","b"]`, 1 → `{"a":{"b":1}}`: the JSON that `metadata @> …` matches for a nested equality. */
const containment = (path: ReadonlyArray<string>, value: Scalar): string =>
  JSON.stringify(path.reduceRight<unknown>((inner, key) => ({ [key]: inner }), value))

export const compileFilter = (sql: SqlClient, node: FilterNode): Statement.Fragment => {
  const field = (path: ReadonlyArray<string>) => sql`(metadata #> ${textArrayLiteral(path)}::text[])`
  switch (node._tag) {
    case "And":
      return sql.and(node.nodes.map((n) => compileFilter(sql, n)))
    case "Or":
      return sql.or(node.nodes.map((n) => compileFilter(sql, n)))
    case "Not":
      return sql`NOT (${compileFilter(sql, node.node)})`
    case "Eq":
      return sql`metadata @> ${containment(node.path, node.value)}::jsonb`
    case "Ne":
      return sql`NOT (metadata @> ${containment(node.path, node.value)}::jsonb)`
    case "Gt":
    case "Gte":
    case "Lt":
    case "Lte": {
      const op = sql.literal({ Gt: ">", Gte: ">=", Lt: "<", Lte: "<=" }[node._tag])
      const type = typeof node.value === "number" ? "number" : "string"
      return sql`coalesce(jsonb_typeof(${field(node.path)}) = ${type} AND ${field(node.path)} ${op} ${JSON.stringify(node.value)}::jsonb, false)`
    }
    case "In":
      return sql`coalesce(${field(node.path)} = ANY(${textArrayLiteral(node.values.map((v) => JSON.stringify(v)))}::jsonb[]), false)`
    case "Nin":
      return sql`NOT coalesce(${field(node.path)} = ANY(${textArrayLiteral(node.values.map((v) => JSON.stringify(v)))}::jsonb[]), false)`
    case "Exists":
      return node.exists ? sql`${field(node.path)} IS NOT NULL` : sql`${field(node.path)} IS NULL`
    case "Contains":
      return sql`(CASE jsonb_typeof(${field(node.path)})
        WHEN 'array' THEN ${field(node.path)} @> jsonb_build_array(${JSON.stringify(node.value)}::jsonb)
        WHEN 'string' THEN jsonb_typeof(${JSON.stringify(node.value)}::jsonb) = 'string'
          AND strpos(metadata #>> ${textArrayLiteral(node.path)}::text[], ${typeof node.value === "string" ? node.value : ""}) > 0
        ELSE false END)`
  }
}
