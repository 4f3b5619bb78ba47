/**
 * A node-postgres Client that sends statements marked PREPARED as named prepared statements.
 * @effect/sql-pg sends every statement unnamed (`client.query(text, values)`), so the server
 * parses and analyses each call; named, that is done once per connection (plans stay per call:
 * the pools set `plan_cache_mode=force_custom_plan`, see PgPool). node-postgres keeps, per
 * connection, which names it has parsed and skips the Parse message for a name it has; the name
 * is the text's hash, so one text is one name and two texts never share one.
 *
 * A statement the server no longer has (a pooler moved the session, a DEALLOCATE) or can no
 * longer run (a migration changed a column it returns) fails with 26000 or "cached plan must
 * not change result type"; the connection then drops it, moves to fresh names and sends the
 * query once more, so one such failure does not break every later search on that connection.
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

const statementLost = (error: unknown): boolean => {
  const { code, message } = (error ?? {}) as { code?: unknown; message?: unknown }
  return code === "26000" || (code === "0A000" && typeof message === "string" && message.includes("cached plan"))
}

type Callback = (error: Error | null, result?: unknown) => void
type Query = (...args: Array<unknown>) => never

export class PreparingClient extends Pg.Client {
  /** Bumped when a statement was lost: later names are new, so they are parsed again. */
  private generation = 0

  // pg's overloads; only a marked text with values changes, everything else passes through.
  override query(...args: Array<unknown>): never {
    const [config, values, callback] = args
    const query = super.query.bind(this) as Query
    if (typeof config !== "string" || !config.startsWith(PREPARED) || !Array.isArray(values)) return query(...args)
    const named = () => ({ name: this.generation === 0 ? nameOf(config) : `${nameOf(config)}_${this.generation}`, text: config, values })
    if (typeof callback !== "function") return query(named())
    return query(named(), (error: Error | null, result?: unknown) => {
      if (error === null || !statementLost(error)) return (callback as Callback)(error, result)
      const lost = named().name
      this.generation++
      // The old statement goes (if the server still has it), then the query under its new name.
      query(`DEALLOCATE "${lost}"`, () => query(named(), callback))
    })
  }
}
