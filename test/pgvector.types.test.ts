/**
 * Our pools read timestamptz with postgres-date 2 (layers/store/pgvector/TypeParsers.ts): the
 * same Date (or ±Infinity) as pg's default parser for every form PostgreSQL prints, and every
 * other type still by pg's own parsers.
 */
import { describe, expect, it } from "vitest"
import Pg from "pg"
import { types } from "../layers/store/pgvector/TypeParsers.ts"

const TIMESTAMPTZ = Pg.types.builtins.TIMESTAMPTZ
const ours = types.getTypeParser(TIMESTAMPTZ, "text") as (text: string) => unknown
const pgs = Pg.types.getTypeParser(TIMESTAMPTZ, "text") as (text: string) => unknown

describe("timestamptz parser", () => {
  it("reads every form PostgreSQL prints as pg's own parser does", () => {
    const forms = [
      "2026-12-03 18:20:00+00",
      "2026-12-03 18:20:00.123+00",
      "2026-12-03 18:20:00.29+00",
      "2026-12-03 18:20:00.123456+00",
      "2026-12-03 18:20:00.999999-03",
      "2026-12-03 18:20:00+05:30",
      "1887-06-05 04:03:02.001+00:09:21",
      "1987-06-05 04:03:02.001+00",
      "0044-03-15 12:00:00+00 BC",
      "infinity",
      "-infinity"
    ]
    for (const form of forms) {
      const a = ours(form)
      const b = pgs(form)
      expect(a instanceof Date ? a.getTime() : a, form).toEqual(b instanceof Date ? b.getTime() : b)
    }
    expect((ours("2026-12-03 18:20:00.123+00") as Date).toISOString()).toBe("2026-12-03T18:20:00.123Z")
  })

  it("leaves every other type to pg", () => {
    for (const oid of [Pg.types.builtins.INT8, Pg.types.builtins.JSONB, Pg.types.builtins.TIMESTAMP, 1009 /* text[] */]) {
      expect(types.getTypeParser(oid, "text")).toBe(Pg.types.getTypeParser(oid, "text"))
    }
  })
})
