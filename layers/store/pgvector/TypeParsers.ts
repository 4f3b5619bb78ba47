/**
 * The type parsers of our pools: pg's own (pg-types 2), but timestamptz read by postgres-date 2,
 * which parses by hand where pg-types 2's postgres-date 1 runs a regular expression: 0.23 against
 * 0.60 µs a value, and every record read has four (a search's 10 rows: 40). Same results, `Infinity`
 * and BC dates included; @effect/sql-pg's own pools use it too (through pg-types 4).
 */
import Pg from "pg"
import parseDate from "postgres-date"

const TIMESTAMPTZ = Pg.types.builtins.TIMESTAMPTZ

export const types: Pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: "text" | "binary") =>
    oid === TIMESTAMPTZ && format !== "binary" ? parseDate : Pg.types.getTypeParser(oid, format)) as Pg.CustomTypesConfig["getTypeParser"]
}
