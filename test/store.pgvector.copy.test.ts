/**
 * The pgvector store's COPY write path against its VALUES insert: the same
 * batches into two stores (one each way) leave the same rows, bit for bit
 * the same vectors, the same per-item outcomes and the same BM25 statistics;
 * a batch that fails (an id conflict, a value the server refuses) leaves
 * nothing of itself in either. A batch of new records is copied straight into
 * the table; one with a conflicting row goes through the staging table instead.
 */
import { PgClient } from "@effect/sql-pg"
import { connect, createServer, type Socket } from "node:net"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Option, Redacted } from "effect"
import { Reactivity } from "@effect/experimental"
import * as CopyInsert from "../layers/store/pgvector/CopyInsert.ts"
import * as PgvectorStore from "../layers/store/pgvector/PgvectorStore.ts"
import type { NewRecord } from "../src/ports/MemoryStore.ts"
import { databaseUrl, freshSchema, postgresAvailable, query } from "./support/postgres.ts"
import { DIMENSIONS, newRecord } from "./support/records.ts"
import { recordingTracer } from "./support/recordingTracer.ts"

/** Awkward floats: negative zero, a subnormal, the extremes of float4, and full mantissas. */
const awkward = (seed: number) => {
  const v = new Float32Array(DIMENSIONS)
  for (let i = 0; i < DIMENSIONS; i++) v[i] = Math.fround(Math.sin(seed * 7.31 + i * 1.7) * 3.4e4) / 1e3
  v[0] = seed % 2 === 0 ? -0 : 1e-42
  v[1] = seed % 3 === 0 ? 3.4028234663852886e38 : -1.1754943508222875e-38
  return v
}

const snapshot = (url: Redacted.Redacted, schema: string) =>
  Effect.all({
    rows: query<Record<string, unknown>>(url, `SELECT namespace, id, kind, content, content_hash, tags, metadata, session_id, embedding::text AS embedding,
      embedding_model, created_at, updated_at, expires_at, occurred_at, content_tsv::text AS tsv FROM "${schema}".memories ORDER BY namespace, id`),
    docs: query(url, `SELECT namespace, docs::int, lexemes::int FROM "${schema}".memory_doc_stats ORDER BY namespace`),
    terms: query(url, `SELECT namespace, term, df FROM "${schema}".memory_term_stats ORDER BY namespace, term`)
  })

/** A TCP proxy to PostgreSQL that, once armed, cuts the connection whose client starts sending a COPY's data (into the table or the staging table). */
const copyCutter = (target: URL) =>
  Effect.acquireRelease(
    Effect.promise(() =>
      new Promise<{ readonly url: Redacted.Redacted; readonly arm: () => void; readonly cuts: () => number; readonly close: () => void }>((resolve) => {
        let armed = false
        let cuts = 0
        const sockets = new Set<Socket>()
        const server = createServer((client) => {
          const upstream = connect(Number(target.port || 5432), target.hostname)
          for (const s of [client, upstream]) {
            sockets.add(s)
            s.on("close", () => sockets.delete(s))
            s.on("error", () => s.destroy())
          }
          let copying = false
          client.on("data", (chunk: Buffer) => {
            if (armed && copying) {
              // The first CopyData after the COPY statement: the connection drops mid-COPY.
              armed = false
              cuts++
              client.destroy()
              upstream.destroy()
              return
            }
            if (chunk.includes("COPY memories")) copying = true
            upstream.write(chunk)
          })
          upstream.pipe(client)
        })
        server.listen(0, "127.0.0.1", () => {
          const address = server.address()
          const url = new URL(target)
          url.port = String(typeof address === "object" && address ? address.port : 0)
          resolve({
            url: Redacted.make(url.toString()),
            arm: () => (armed = true),
            cuts: () => cuts,
            close: () => {
              for (const s of sockets) s.destroy()
              server.close()
            }
          })
        })
      })
    ),
    ({ close }) => Effect.sync(close)
  )

const parseVector = (text: string) => Float32Array.from(text.slice(1, -1).split(",").map(Number))

describe.skipIf(!postgresAvailable)("pgvector COPY ingest", () => {
  it.scoped("stores exactly what the VALUES insert stores: rows, vectors bit for bit, outcomes, statistics; a failed batch leaves nothing", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const copySchema = yield* freshSchema(url)
      const valuesSchema = yield* freshSchema(url)
      const copy = yield* PgvectorStore.make({ url, schema: copySchema, dimensions: DIMENSIONS })
      const values = yield* PgvectorStore.make({ url, schema: valuesSchema, dimensions: DIMENSIONS, insertVia: "values" })
      const namespace = "ns-copy"
      const old = newRecord({ content: "stored before the batch", namespace, id: "old" }, awkward(1))
      const batch: Array<NewRecord> = [
        newRecord({ content: "a plain memory about PostgreSQL COPY", namespace, id: "a" }, awkward(2)),
        newRecord({
          content: "quotes ' \" braces {} [] backslash \\ tab\t newline\n unicode ünïcødé 🚀",
          namespace,
          id: "b",
          kind: "knowledge",
          tags: ["x", "with space", "quo\"te", "back\\slash", "{brace}", ""],
          metadata: { nested: { level: 2 }, list: [1, "two", null], unicode: "ø", big: 1e300 },
          sessionId: "s-1",
          expiresAt: new Date(Date.now() + 3_600_000),
          // Before PostgreSQL's epoch (2000-01-01): a negative int64 of microseconds in the COPY row.
          occurredAt: new Date("1987-06-05T04:03:02.001Z")
        }, awkward(3)),
        // A duplicate of a record stored earlier, and a repeat of an item earlier in this batch.
        newRecord({ content: "stored before the batch", namespace, id: "dup-of-old" }, awkward(4)),
        newRecord({ content: "a plain memory about PostgreSQL COPY", namespace, id: "a" }, awkward(2)),
        // Messages may repeat.
        newRecord({ content: "hello", namespace, id: "m1", kind: "message", sessionId: "s-1" }, awkward(5)),
        newRecord({ content: "hello", namespace, id: "m2", kind: "message", sessionId: "s-1" }, awkward(6)),
        // Another namespace in the same transaction (the staging table is emptied between them).
        newRecord({ content: "elsewhere", namespace: "ns-other", id: "o" }, awkward(7))
      ]
      const outcomes = yield* Effect.forEach([copy, values], (store) =>
        Effect.gen(function*() {
          yield* store.insert([old])
          const done = yield* store.insert(batch)
          return done.map((o) => ({ id: o.record.id, deduplicated: o.deduplicated }))
        }))
      expect(outcomes[0]).toEqual([
        { id: "a", deduplicated: false },
        { id: "b", deduplicated: false },
        { id: "old", deduplicated: true },
        { id: "a", deduplicated: true },
        { id: "m1", deduplicated: false },
        { id: "m2", deduplicated: false },
        { id: "o", deduplicated: false }
      ])
      expect(outcomes[1]).toEqual(outcomes[0])

      // Bad batches: an id another record holds, and a value PostgreSQL refuses (a NUL in text); each with a good item beside it.
      const good = newRecord({ content: "must not be half-stored", namespace, id: "good" }, awkward(8))
      const conflict = newRecord({ content: "different content under an existing id", namespace, id: "old" }, awkward(9))
      const nul = newRecord({ content: "a NUL \u0000 byte", namespace, id: "nul" }, awkward(10))
      for (const bad of [conflict, nul]) {
        const exits = yield* Effect.forEach([copy, values], (store) => Effect.exit(store.insert([good, bad])))
        expect(Exit.isFailure(exits[0]!)).toBe(true)
        const tags = exits.map((e) => Exit.isFailure(e) && e.cause._tag === "Fail" ? e.cause.error._tag : "not a failure")
        expect(tags[0]).toBe(bad === conflict ? "IdConflict" : "StoreUnavailable")
        expect(tags[1]).toBe(tags[0])
      }

      const [a, b] = yield* Effect.all([snapshot(url, copySchema), snapshot(url, valuesSchema)])
      expect(a!.rows.map((r) => r["id"])).toEqual(["a", "b", "m1", "m2", "old", "o"])
      expect(a).toEqual(b)
      // Bit for bit what was given: pgvector prints the shortest text that reads back as the same float4.
      const given = new Map([old, ...batch].map((i) => [`${i.record.namespace}/${i.record.id}`, i.embedding]))
      for (const row of a!.rows) {
        const stored = parseVector(String(row["embedding"]))
        const sent = given.get(`${row["namespace"]}/${row["id"]}`)!
        expect(Array.from(stored).map((x) => Object.is(x, -0) ? "-0" : x)).toEqual(Array.from(sent).map((x) => Object.is(x, -0) ? "-0" : x))
      }
      expect(a!.terms.length).toBeGreaterThan(0)
    }), 60_000)

  it.scoped("a batch of new records is copied straight into the table; a conflicting row sends the whole batch through the staging table, and the attempt leaves nothing", () => {
    const { spans, tracer } = recordingTracer()
    return Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const store = yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS })
      const ways = () => spans.flatMap((s) => (s.attributes.has("memory.copy") ? [s.attributes.get("memory.copy")] : []))
      const fresh = Array.from({ length: 20 }, (_, i) => newRecord({ content: `fresh ${i}`, namespace: "ns", id: `f${i}` }, awkward(i)))
      const first = yield* store.insert(fresh)
      expect(first.every((o) => !o.deduplicated)).toBe(true)
      expect(ways()).toEqual(["direct"])
      // The conflict is the last row, after nineteen the direct COPY had already written.
      const mixed = [
        ...Array.from({ length: 19 }, (_, i) => newRecord({ content: `second ${i}`, namespace: "ns", id: `s${i}` }, awkward(40 + i))),
        newRecord({ content: "fresh 3", namespace: "ns", id: "again" }, awkward(3))
      ]
      const second = yield* store.insert(mixed)
      expect(second.map((o) => o.deduplicated)).toEqual([...Array(19).fill(false), true])
      expect(second[19]!.record.id).toBe("f3")
      expect(ways()).toEqual(["direct", "staged"])
      // A repeat within one batch conflicts too.
      const twice = newRecord({ content: "said twice", namespace: "ns", id: "t" }, awkward(70))
      const third = yield* store.insert([twice, twice])
      expect(third.map((o) => o.deduplicated)).toEqual([false, true])
      expect(ways()).toEqual(["direct", "staged", "staged"])
      const counts = yield* query<{ rows: number; docs: number }>(url, `SELECT (SELECT count(*)::int FROM "${schema}".memories) AS rows,
        (SELECT docs::int FROM "${schema}".memory_doc_stats WHERE namespace = 'ns') AS docs`)
      expect(counts[0]).toEqual({ rows: 40, docs: 40 })
    }).pipe(Effect.withTracer(tracer))
  }, 60_000)

  it.scoped("runs only on a transaction's pg connection, straight in only for a vector column; elsewhere the store falls back to VALUES", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      // The schema and the table the staging rows go into.
      yield* PgvectorStore.make({ url, schema, dimensions: DIMENSIONS })
      const sql = yield* PgClient.make({ url: Redacted.make(`${Redacted.value(url)}?options=-c%20search_path%3D${schema},public`) })
      const bulk = CopyInsert.make({ dimensions: DIMENSIONS, vectorType: "vector" })
      const item = newRecord({ content: "via copy", namespace: "ns", id: "c" }, awkward(11))
      const other = newRecord({ content: "straight in", namespace: "ns", id: "d" }, awkward(12))
      expect(yield* bulk.insertNew([other])).toBe(false)
      expect(Option.isNone(yield* bulk.insert(sql, [item]))).toBe(true)
      const inside = yield* sql.withTransaction(bulk.insert(sql, [item]))
      expect(Option.getOrThrow(inside)).toEqual([{ id: "c", kind: "memory", content_hash: item.record.contentHash }])
      expect(yield* sql.withTransaction(bulk.insertNew([other]))).toBe(true)
      // halfvec takes the staging table's cast: never straight in.
      const halfvec = CopyInsert.make({ dimensions: DIMENSIONS, vectorType: "halfvec" })
      expect(yield* sql.withTransaction(halfvec.insertNew([newRecord({ content: "half", namespace: "ns", id: "h" }, awkward(13))]))).toBe(false)
      const rows = yield* query<{ id: string }>(url, `SELECT id FROM "${schema}".memories ORDER BY id`)
      expect(rows.map((r) => r.id)).toEqual(["c", "d"])
    }).pipe(Effect.provide(Reactivity.layer)), 60_000)

  it.scoped("a connection dropped in the middle of the COPY is StoreUnavailable, nothing of the batch is stored, and the store goes on", () =>
    Effect.gen(function*() {
      const url = yield* databaseUrl
      const schema = yield* freshSchema(url)
      const cutter = yield* copyCutter(new URL(Redacted.value(url)))
      const store = yield* PgvectorStore.make({ url: cutter.url, schema, dimensions: DIMENSIONS })
      const batch = Array.from({ length: 50 }, (_, i) => newRecord({ content: `record ${i} ${"x".repeat(2000)}`, namespace: "ns", id: `r${i}` }, awkward(i)))
      cutter.arm()
      const exit = yield* Effect.exit(store.insert(batch))
      expect(cutter.cuts()).toBe(1)
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? exit.cause.error._tag : "not a typed failure").toBe("StoreUnavailable")
      const count = () => Effect.map(query<{ n: number }>(url, `SELECT count(*)::int AS n FROM "${schema}".memories`), (r) => r[0]!.n)
      expect(yield* count()).toBe(0)
      const again = yield* store.insert(batch)
      expect(again.filter((o) => !o.deduplicated)).toHaveLength(50)
      expect(yield* count()).toBe(50)
    }), 60_000)
})
