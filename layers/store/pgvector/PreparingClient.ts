/**
 * A node-postgres Client that sends statements marked PREPARED as named prepared statements.
 * @effect/sql-pg sends every statement unnamed (`client.query(text, values)`), so the server
 * parses, analyses and plans each call; for the vector search that is ~20% of a query's time at
 * 4 clients (bench/searchProfile.ts). node-postgres keeps, per connection, which names it has
 * parsed, and skips the Parse message for a name it has; the name is the text's hash, so one text
 * is one name everywhere and two texts never share one.
 */
import Pg from "pg"
import { sha256 } from "../../../src/lib/sha256.ts"
import { PREPARED } from "../sql/prepared.ts"

// Few texts are marked (see PREPARED); the map is bounded anyway.
const MAX_NAMES = 256
const names = new Map<string, string>()

const nameOf = (text: string): string => {
  let name = names.get(text)
  if (name === undefined) {
    name = `am_${sha256(text, "base64url").slice(0, 24)}`
    if (names.size >= MAX_NAMES) names.clear()
    names.set(text, name)
  }
  return name
}

export class PreparingClient extends Pg.Client {
  // pg's overloads; only a marked text with values changes, everything else passes through.
  override query(...args: Array<unknown>): never {
    const [config, values, callback] = args
    if (typeof config === "string" && config.startsWith(PREPARED) && Array.isArray(values)) {
      return (super.query as (...a: Array<unknown>) => never)({ name: nameOf(config), text: config, values }, callback)
    }
    return (super.query as (...a: Array<unknown>) => never)(...args)
  }
}
