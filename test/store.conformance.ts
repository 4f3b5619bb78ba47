/**
 * The Store conformance suite: one set of behaviours every provider must show.
 * Run against each built-in provider (test/store.*.test.ts); a plugin author
 * can run it against theirs.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Exit, type Layer, Option } from "effect"
import { filterTree } from "../src/domain/Filter.ts"
import { MemoryStore } from "../src/ports/MemoryStore.ts"
import { MemoryRecord } from "../src/domain/Memory.ts"
import { DIMENSIONS, newNamespace, newRecord, unit } from "./support/records.ts"
import { bm25Scores } from "./support/bm25.ts"

export const storeConformance = <E>(name: string, storeLayer: Layer.Layer<MemoryStore, E>) =>
  layer(storeLayer, { timeout: 120_000 })(`Store conformance: ${name}`, (it) => {
    it.effect("stores a record and gets it back unchanged", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const item = newRecord({
          content: "The cat sat on the mat",
          namespace,
          tags: ["pets", "home"],
          metadata: { source: "chat", nested: { level: 2 }, list: [1, "two"] },
          sessionId: "s-1"
        }, unit(0))
        const [outcome] = yield* store.insert([item])
        expect(outcome!.deduplicated).toBe(false)
        const got = yield* store.get(namespace, item.record.id)
        expect(Option.isSome(got)).toBe(true)
        const record = Option.getOrThrow(got)
        expect(record.id).toBe(item.record.id)
        expect(record.content).toBe("The cat sat on the mat")
        expect(record.kind).toBe("memory")
        expect(record.tags).toEqual(["pets", "home"])
        expect(record.metadata).toEqual({ source: "chat", nested: { level: 2 }, list: [1, "two"] })
        expect(record.sessionId).toBe("s-1")
        expect(record.contentHash).toBe(item.record.contentHash)
        expect(record.embeddingDimensions).toBe(DIMENSIONS)
        expect(record.createdAt.getTime()).toBe(item.record.createdAt.getTime())
        expect(record.expiresAt).toBeNull()
        expect(Option.isNone(yield* store.get(newNamespace(), item.record.id))).toBe(true)
      }))

    it.effect("keeps awkward text intact: quotes, braces, backslashes, unicode", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const content = `It's "quoted", {braced}, back\\slashed; DROP TABLE memories; -- 猫 🐈`
        const item = newRecord({ content, namespace, tags: ['a "tag"', "b,c", "{d}", "e\\f"] }, unit(1))
        yield* store.insert([item])
        const record = Option.getOrThrow(yield* store.get(namespace, item.record.id))
        expect(record.content).toBe(content)
        expect(record.tags).toEqual(['a "tag"', "b,c", "{d}", "e\\f"])
      }))

    it.effect("deduplicates by content within a namespace and kind, but not messages", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const first = newRecord({ content: "I like tea", namespace }, unit(0))
        const again = newRecord({ content: "I like tea", namespace }, unit(0))
        const [a] = yield* store.insert([first])
        const [b] = yield* store.insert([again])
        expect(b!.deduplicated).toBe(true)
        expect(b!.record.id).toBe(a!.record.id)
        expect(Option.isNone(yield* store.get(namespace, again.record.id))).toBe(true)
        // Elsewhere, or as another kind, the same text is a new record.
        const [other] = yield* store.insert([newRecord({ content: "I like tea", namespace: newNamespace() }, unit(0))])
        expect(other!.deduplicated).toBe(false)
        const [knowledge] = yield* store.insert([newRecord({ content: "I like tea", namespace, kind: "knowledge" }, unit(0))])
        expect(knowledge!.deduplicated).toBe(false)
        const m1 = newRecord({ content: "ok", namespace, kind: "message" }, unit(2))
        const m2 = newRecord({ content: "ok", namespace, kind: "message" }, unit(2))
        const outcomes = yield* store.insert([m1, m2])
        expect(outcomes.map((o) => o.deduplicated)).toEqual([false, false])
        // Within one batch, the second copy is a duplicate of the first.
        const x1 = newRecord({ content: "same twice", namespace }, unit(3))
        const x2 = newRecord({ content: "same twice", namespace }, unit(3))
        const pair = yield* store.insert([x1, x2])
        expect(pair.map((o) => o.deduplicated)).toEqual([false, true])
        expect(pair[1]!.record.id).toBe(x1.record.id)
        // The very same item twice: each place in the batch gets its own outcome.
        const y = newRecord({ content: "one item given twice", namespace }, unit(4))
        const same = yield* store.insert([y, y])
        expect(same.map((o) => o.deduplicated)).toEqual([false, true])
      }))

    it.effect("deduplicates a document's chunks within their document only: a passage two documents share stays in both", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const shared = "Shared boilerplate paragraph"
        const chunk = (documentId: string, position: number, content: string, v: Float32Array) =>
          newRecord({ id: `${documentId}:${position}`, content, namespace, kind: "knowledge", metadata: { documentId, position } }, v)
        const [a0, a1] = yield* store.insert([chunk("doc-a", 0, shared, unit(0)), chunk("doc-a", 1, "only in a", unit(1))])
        expect([a0!.deduplicated, a1!.deduplicated]).toEqual([false, false])
        // Another document with the same passage keeps its own chunk, which cites it.
        const [b0] = yield* store.insert([chunk("doc-b", 0, shared, unit(0))])
        expect(b0!.deduplicated).toBe(false)
        expect(b0!.record.id).toBe("doc-b:0")
        expect(Option.getOrThrow(yield* store.get(namespace, "doc-b:0")).metadata["documentId"]).toBe("doc-b")
        const hits = yield* store.search({ namespace, embedding: unit(0), k: 10, minScore: 0.5 })
        expect(hits.map((h) => h.record.metadata["documentId"]).sort()).toEqual(["doc-a", "doc-b"])
        // A standalone record of that kind and text is its own record too.
        const [plain] = yield* store.insert([newRecord({ content: shared, namespace, kind: "knowledge" }, unit(0))])
        expect(plain!.deduplicated).toBe(false)
        // Within one document the passage is stored once, in one batch or later.
        const [again] = yield* store.insert([chunk("doc-a", 7, shared, unit(0))])
        expect(again!.deduplicated).toBe(true)
        expect(again!.record.id).toBe("doc-a:0")
        expect(Option.isNone(yield* store.get(namespace, "doc-a:7"))).toBe(true)
        const pair = yield* store.insert([chunk("doc-c", 0, shared, unit(0)), chunk("doc-c", 1, shared, unit(0))])
        expect(pair.map((o) => [o.deduplicated, o.record.id])).toEqual([[false, "doc-c:0"], [true, "doc-c:0"]])
        // An update may take text another document holds, not text its own document holds.
        const onto = (id: string) =>
          store.update(namespace, id, { content: { text: "only in a", hash: a1!.record.contentHash, embedding: unit(1), model: "test" }, updatedAt: new Date() })
        expect(Option.isSome(yield* onto("doc-b:0"))).toBe(true)
        const clash = yield* Effect.exit(onto("doc-a:0"))
        expect(Exit.isFailure(clash)).toBe(true)
        if (Exit.isFailure(clash)) expect(JSON.stringify(clash.cause)).toContain("doc-a:1")
      }))

    it.effect("storing the same id and content again is idempotent; the same id with other content is a conflict that stores nothing", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const original = newRecord({ content: "original", namespace, id: "fixed-id" }, unit(0))
        yield* store.insert([original])
        const [retry] = yield* store.insert([newRecord({ content: "original", namespace, id: "fixed-id" }, unit(0))])
        expect(retry!.deduplicated).toBe(true)
        const innocent = newRecord({ content: "innocent bystander", namespace }, unit(1))
        const clash = newRecord({ content: "something else", namespace, id: "fixed-id" }, unit(2))
        const exit = yield* Effect.exit(store.insert([innocent, clash]))
        expect(Exit.isFailure(exit)).toBe(true)
        if (Exit.isFailure(exit)) expect(JSON.stringify(exit.cause)).toContain("IdConflict")
        expect(Option.isNone(yield* store.get(namespace, innocent.record.id))).toBe(true)
        expect(Option.getOrThrow(yield* store.get(namespace, "fixed-id")).content).toBe("original")
      }))

    it.effect("finds the nearest records first, with scores in [0, 1]", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const near = newRecord({ content: "near", namespace }, unit(0, 0.1))
        const middle = newRecord({ content: "middle", namespace }, unit(0, 1))
        const far = newRecord({ content: "far", namespace }, unit(4))
        const opposite = newRecord({ content: "opposite", namespace }, unit(0).map((x) => -x))
        yield* store.insert([far, middle, opposite, near])
        const hits = yield* store.search({ namespace, embedding: unit(0), k: 10, minScore: 0 })
        expect(hits.map((h) => h.record.content)).toEqual(["near", "middle", "far", "opposite"].slice(0, hits.length))
        expect(hits.length).toBe(4)
        for (const h of hits) {
          expect(h.score).toBeGreaterThanOrEqual(0)
          expect(h.score).toBeLessThanOrEqual(1)
        }
        expect(hits[0]!.score).toBeCloseTo(1 / Math.hypot(1, 0.1), 3)
        expect(hits[1]!.score).toBeCloseTo(Math.SQRT1_2, 3)
        expect(hits[2]!.score).toBeCloseTo(0, 3)
        expect(hits[3]!.score).toBe(0)
        const top2 = yield* store.search({ namespace, embedding: unit(0), k: 2, minScore: 0 })
        expect(top2.map((h) => h.record.content)).toEqual(["near", "middle"])
        const above = yield* store.search({ namespace, embedding: unit(0), k: 10, minScore: 0.8 })
        expect(above.map((h) => h.record.content)).toEqual(["near"])
      }))

    it.effect("filters by namespace, kinds, tags, session and metadata", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        yield* store.insert([
          newRecord({ content: "a", namespace, kind: "memory", tags: ["x", "y"], metadata: { lang: "en", n: 1, deep: { k: true } }, sessionId: "s1" }, unit(0, 0.1)),
          newRecord({ content: "b", namespace, kind: "knowledge", tags: ["x"], metadata: { lang: "fr", n: 2 } }, unit(0, 0.2)),
          newRecord({ content: "c", namespace, kind: "message", tags: [], metadata: { lang: "en", n: null }, sessionId: "s2" }, unit(0, 0.3))
        ])
        yield* store.insert([newRecord({ content: "elsewhere", namespace: newNamespace() }, unit(0))])
        const contents = (q: Partial<Parameters<typeof store.search>[0]>) =>
          store.search({ namespace, embedding: unit(0), k: 10, minScore: 0, ...q }).pipe(
            Effect.map((hits) => hits.map((h) => h.record.content))
          )
        expect(yield* contents({})).toEqual(["a", "b", "c"])
        expect(yield* contents({ kinds: ["knowledge", "message"] })).toEqual(["b", "c"])
        expect(yield* contents({ tags: ["x"] })).toEqual(["a", "b"])
        expect(yield* contents({ tags: ["x", "y"] })).toEqual(["a"])
        expect(yield* contents({ sessionId: "s2" })).toEqual(["c"])
        expect(yield* contents({ filter: filterTree({ lang: "en" }) })).toEqual(["a", "c"])
        expect(yield* contents({ filter: filterTree({ lang: "en", n: 1 }) })).toEqual(["a"])
        expect(yield* contents({ filter: filterTree({ n: null }) })).toEqual(["c"])
        expect(yield* contents({ filter: filterTree({ "deep.k": true }) })).toEqual(["a"])
        expect(yield* contents({ filter: filterTree({ missing: "x" }) })).toEqual([])
      }))

    it.effect("never returns expired records, and lets their content be stored again", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const expired = newRecord({ content: "old news", namespace, expiresAt: new Date(Date.now() - 1000) }, unit(0))
        const fresh = newRecord({ content: "fresh", namespace, expiresAt: new Date(Date.now() + 3_600_000) }, unit(1))
        yield* store.insert([expired, fresh])
        expect(Option.isNone(yield* store.get(namespace, expired.record.id))).toBe(true)
        expect(Option.isSome(yield* store.get(namespace, fresh.record.id))).toBe(true)
        const hits = yield* store.search({ namespace, embedding: unit(0), k: 10, minScore: 0 })
        expect(hits.map((h) => h.record.content)).toEqual(["fresh"])
        const [again] = yield* store.insert([newRecord({ content: "old news", namespace }, unit(0))])
        expect(again!.deduplicated).toBe(false)
        // Nor its id.
        const gone = newRecord({ content: "soon gone", namespace, expiresAt: new Date(Date.now() - 1000) }, unit(2))
        yield* store.insert([gone])
        const [reused] = yield* store.insert([newRecord({ content: "new under an old id", namespace, id: gone.record.id }, unit(3))])
        expect(reused!.deduplicated).toBe(false)
        expect(Option.map(yield* store.get(namespace, gone.record.id), (r) => r.content)).toEqual(Option.some("new under an old id"))
      }))

    it.effect("deletes by id", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const item = newRecord({ content: "to forget", namespace }, unit(0))
        yield* store.insert([item])
        expect(yield* store.delete(newNamespace(), item.record.id)).toBe(false)
        expect(yield* store.delete(namespace, item.record.id)).toBe(true)
        expect(yield* store.delete(namespace, item.record.id)).toBe(false)
        expect(Option.isNone(yield* store.get(namespace, item.record.id))).toBe(true)
        expect(yield* store.search({ namespace, embedding: unit(0), k: 5, minScore: 0 })).toEqual([])
        // Its content can be stored again.
        const [again] = yield* store.insert([newRecord({ content: "to forget", namespace }, unit(0))])
        expect(again!.deduplicated).toBe(false)
      }))

    it.effect("rejects vectors of the wrong width with DimensionMismatch", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const wide = newRecord({ content: "too wide", namespace }, new Float32Array(DIMENSIONS + 1).fill(0.1))
        const insertError = yield* Effect.flip(store.insert([wide]))
        expect(insertError._tag).toBe("DimensionMismatch")
        const searchError = yield* Effect.flip(store.search({ namespace, embedding: new Float32Array(3), k: 1, minScore: 0 }))
        expect(searchError._tag).toBe("DimensionMismatch")
        expect(store.dimensions).toBe(DIMENSIONS)
      }))

    it.effect("compiles the whole filter language, the same way in every store", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const docs: Array<[string, Record<string, unknown>]> = [
          ["a", { n: 1, lang: "en", tags: ["x", "y"], title: "Hello world", nested: { level: 1 }, flag: true, when: "2024-01-05" }],
          ["b", { n: 5, lang: "fr", tags: ["y"], title: "Bonjour", nested: { level: 2 }, flag: false, when: "2024-03-01" }],
          ["c", { n: 10, lang: "en", title: "Goodbye world", empty: null, when: "2023-12-31" }],
          ["d", { n: "10", lang: "de" }],
          ["e", {}]
        ]
        yield* store.insert(docs.map(([content, metadata], i) => newRecord({ content, namespace, metadata }, unit(0, i / 10))))
        const ids = (filter: Record<string, unknown>) =>
          store.search({ namespace, embedding: unit(0), k: 10, minScore: 0, filter: filterTree(filter) }).pipe(
            Effect.map((hits) => hits.map((h) => h.record.content).sort().join(""))
          )
        expect(yield* ids({ lang: "en" })).toBe("ac")
        expect(yield* ids({ lang: { $eq: "en" } })).toBe("ac")
        expect(yield* ids({ lang: { $ne: "en" } })).toBe("bde")
        expect(yield* ids({ n: { $gt: 1 } })).toBe("bc")
        expect(yield* ids({ n: { $gte: 5, $lt: 10 } })).toBe("b")
        expect(yield* ids({ n: { $lte: 5 } })).toBe("ab")
        expect(yield* ids({ n: { $gte: "10" } })).toBe("d")
        expect(yield* ids({ when: { $gte: "2024-01-01" } })).toBe("ab")
        expect(yield* ids({ lang: { $in: ["fr", "de"] } })).toBe("bd")
        expect(yield* ids({ lang: { $nin: ["fr", "de"] } })).toBe("ace")
        expect(yield* ids({ empty: { $exists: true } })).toBe("c")
        expect(yield* ids({ empty: null })).toBe("c")
        expect(yield* ids({ lang: { $exists: false } })).toBe("e")
        expect(yield* ids({ tags: { $contains: "y" } })).toBe("ab")
        expect(yield* ids({ title: { $contains: "world" } })).toBe("ac")
        expect(yield* ids({ "nested.level": { $gt: 1 } })).toBe("b")
        expect(yield* ids({ flag: false })).toBe("b")
        expect(yield* ids({ $or: [{ lang: "fr" }, { n: 10 }] })).toBe("bc")
        expect(yield* ids({ $and: [{ lang: "en" }, { $not: { n: { $gt: 1 } } }] })).toBe("a")
        expect(yield* ids({ $not: { n: { $gt: 1 } } })).toBe("ade")
        expect(yield* ids({ $not: { $or: [{ lang: "en" }, { lang: "fr" }] } })).toBe("de")
      }))

    it.effect("matches tags all or any", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        yield* store.insert([
          newRecord({ content: "xy", namespace, tags: ["x", "y"] }, unit(0)),
          newRecord({ content: "y", namespace, tags: ["y"] }, unit(0, 0.1)),
          newRecord({ content: "z", namespace, tags: ["z"] }, unit(0, 0.2))
        ])
        const contents = (tags: Array<string>, tagMatch: "all" | "any") =>
          store.search({ namespace, embedding: unit(0), k: 10, minScore: 0, tags, tagMatch }).pipe(
            Effect.map((hits) => hits.map((h) => h.record.content))
          )
        expect(yield* contents(["x", "y"], "all")).toEqual(["xy"])
        expect(yield* contents(["x", "z"], "any")).toEqual(["xy", "z"])
      }))

    it.effect("orders keyword ties by id, not by time, the same in every store", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        // Equal scores (one shared term, equal lengths, each other term once); the newest has the smallest id but one.
        const tied = [["m-2", "kiwi xray", 0], ["m-3", "kiwi yankee", 1], ["m-1", "kiwi zulu", 2], ["m-0", "kiwi whisky", 3]] as const
        yield* store.insert(tied.map(([id, content, age], i) => {
          const item = newRecord({ id, content, namespace }, unit(i))
          const at = new Date(Date.UTC(2026, 0, 1 + age))
          return { ...item, record: new MemoryRecord({ ...item.record, createdAt: at, updatedAt: at }) }
        }))
        yield* store.insert([newRecord({ content: "pear", namespace }, unit(4))])
        const hits = yield* store.keywordSearch({ namespace, text: "kiwi", k: 3 })
        expect(new Set(hits.map((h) => h.score)).size).toBe(1)
        expect(hits.map((h) => h.record.id)).toEqual(["m-0", "m-1", "m-2"])
      }))

    it.effect("returns k results under a selective filter whenever k matching records exist", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        // 400 records; 12 match, and they are far from the query, so an index scan meets them last.
        const items = Array.from({ length: 400 }, (_, i) =>
          newRecord({ content: `record ${i}`, namespace, metadata: { rare: i % 33 === 0 } }, unit(i % 33 === 0 ? 4 : 0, (i % 17) / 17))
        )
        yield* store.insert(items)
        const hits = yield* store.search({ namespace, embedding: unit(0), k: 10, minScore: 0, filter: filterTree({ rare: true }) })
        expect(hits.length).toBe(10)
        expect(hits.every((h) => h.record.metadata["rare"] === true)).toBe(true)
      }))

    it.effect("finds records by keyword, an exact identifier first", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        yield* store.insert([
          newRecord({ content: "The deploy failed with error E4012 on the primary", namespace }, unit(1)),
          newRecord({ content: "An error occurred while saving the file", namespace }, unit(2)),
          newRecord({ content: "Lunch is at noon", namespace }, unit(3))
        ])
        const hits = yield* store.keywordSearch({ namespace, text: "what does error E4012 mean?", k: 5 })
        expect(hits[0]!.record.content).toContain("E4012")
        expect(hits.map((h) => h.record.content)).not.toContain("Lunch is at noon")
        for (const h of hits) expect(h.score).toBeGreaterThan(0)
        expect(yield* store.keywordSearch({ namespace, text: "?!", k: 5 })).toEqual([])
        expect(yield* store.keywordSearch({ namespace: newNamespace(), text: "E4012", k: 5 })).toEqual([])
      }))

    it.effect("ranks keyword hits by BM25: term frequency saturates, shorter records weigh more, rarer terms weigh more", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const docs = [
          "kiwi kiwi kiwi banana",
          "kiwi banana",
          "kiwi banana cherry grape melon lemon",
          "banana banana",
          "mango banana"
        ]
        yield* store.insert(docs.map((content, i) => newRecord({ content, namespace }, unit(i))))
        const ranked = (text: string) =>
          store.keywordSearch({ namespace, text, k: 10 }).pipe(Effect.map((hits) => hits.map((h) => [h.record.content, h.score] as const)))
        const kiwi = yield* ranked("kiwi")
        expect(kiwi.map(([c]) => c)).toEqual([docs[0], docs[1], docs[2]])
        // Saturation: three times the word is worth less than three times the score.
        expect(kiwi[0]![1] / kiwi[1]![1]).toBeGreaterThan(1)
        expect(kiwi[0]![1] / kiwi[1]![1]).toBeLessThan(3)
        // The rare word outweighs the common one.
        const mixed = yield* ranked("mango kiwi")
        expect(mixed[0]![0]).toBe("mango banana")
        // Exactly BM25 (k1, b, idf over the namespace), scaled into [0, 1).
        for (const text of ["kiwi", "mango kiwi", "banana cherry", "kiwis and bananas"]) {
          const expected = bm25Scores(docs, text)
          const got = yield* ranked(text)
          expect(got.map(([c]) => c).sort()).toEqual(expected.map((e) => e.content).sort())
          const byContent = new Map(expected.map((e) => [e.content, e.score]))
          got.forEach(([content, score], i) => {
            expect(score).toBeCloseTo(byContent.get(content)!, 9)
            if (i > 0) expect(score).toBeLessThanOrEqual(got[i - 1]![1])
          })
        }
        // Statistics are per namespace: another namespace's records change nothing here.
        yield* store.insert([newRecord({ content: "kiwi kiwi", namespace: newNamespace() }, unit(0))])
        const again = yield* ranked("mango kiwi")
        again.forEach(([, score], i) => expect(score).toBeCloseTo(mixed[i]![1], 9))
      }))

    it.effect("keeps keyword statistics exact through insert, dedup, update, delete, deleteWhere, replace, a failed batch and the sweep", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        // What the namespace holds (expired records count until the sweep removes them).
        const stored = new Map<string, string>()
        const check = Effect.gen(function*() {
          const held = [...stored.values()]
          for (const text of ["alpha", "beta gamma", "alpha delta epsilon", "zeta"]) {
            const got = yield* store.keywordSearch({ namespace, text, k: 50 })
            const expected = bm25Scores(held, text).filter((e) => !e.content.startsWith("expired"))
            expect(got.map((h) => h.record.content).sort()).toEqual(expected.map((e) => e.content).sort())
            const byContent = new Map(expected.map((e) => [e.content, e.score]))
            for (const h of got) expect(h.score).toBeCloseTo(byContent.get(h.record.content)!, 9)
          }
        })
        const add = (...items: ReadonlyArray<ReturnType<typeof newRecord>>) =>
          Effect.gen(function*() {
            const outcomes = yield* store.insert(items)
            outcomes.forEach((o) => stored.set(o.record.id, o.record.content))
            return outcomes
          })
        const a = newRecord({ content: "alpha beta", namespace }, unit(0))
        const b = newRecord({ content: "alpha alpha gamma delta", namespace }, unit(1))
        const c = newRecord({ content: "beta epsilon zeta zeta", namespace }, unit(2))
        yield* add(a, b, c)
        yield* check
        // A duplicate changes nothing.
        const [dup] = yield* add(newRecord({ content: "alpha beta", namespace }, unit(0)))
        expect(dup!.deduplicated).toBe(true)
        yield* check
        // New content: its old terms go, its new ones come; other fields leave the statistics alone.
        yield* store.update(namespace, b.record.id, {
          content: { text: "gamma gamma epsilon", hash: "h-b2", embedding: unit(1), model: "test" },
          updatedAt: new Date()
        })
        stored.set(b.record.id, "gamma gamma epsilon")
        yield* check
        yield* store.update(namespace, b.record.id, { tags: ["t"], updatedAt: new Date() })
        yield* check
        // A batch that fails stores nothing and counts nothing.
        const clash = newRecord({ content: "zeta alpha other", namespace, id: a.record.id }, unit(3))
        const failed = yield* Effect.exit(store.insert([newRecord({ content: "alpha innocent", namespace }, unit(4)), clash]))
        expect(Exit.isFailure(failed)).toBe(true)
        yield* check
        expect(yield* store.delete(namespace, c.record.id)).toBe(true)
        stored.delete(c.record.id)
        yield* check
        const g1 = newRecord({ content: "delta delta zeta", namespace, metadata: { group: 1 } }, unit(5))
        const g2 = newRecord({ content: "epsilon alpha", namespace, metadata: { group: 1 } }, unit(6))
        yield* add(g1, g2)
        yield* check
        expect(yield* store.deleteWhere({ namespace, filter: filterTree({ group: 1 }) })).toBe(2)
        stored.delete(g1.record.id)
        stored.delete(g2.record.id)
        yield* check
        const chunk = (content: string, i: number) =>
          newRecord({ content, namespace, kind: "knowledge", metadata: { documentId: "doc", position: i } }, unit(i))
        yield* add(chunk("alpha zeta one", 0), chunk("beta zeta two", 1))
        yield* check
        const selector = { namespace, kinds: ["knowledge" as const], filter: filterTree({ documentId: "doc" }) }
        for (const [id, content] of [...stored]) if (content.includes("zeta") && /one|two/.test(content)) stored.delete(id)
        const replaced = yield* store.replace(selector, [chunk("gamma zeta three", 0)])
        replaced.forEach((o) => stored.set(o.record.id, o.record.content))
        yield* check
        const expired = newRecord({ content: "expired alpha zeta", namespace, expiresAt: new Date(Date.now() - 1000) }, unit(7))
        yield* add(expired)
        yield* check
        expect(yield* store.deleteExpired).toBeGreaterThanOrEqual(1)
        stored.delete(expired.record.id)
        yield* check
      }))

    it.effect("updates fields, keeps the id, and refuses content another record holds", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const a = newRecord({ content: "first text", namespace, tags: ["t"], metadata: { v: 1 } }, unit(0))
        const b = newRecord({ content: "second text", namespace }, unit(1))
        yield* store.insert([a, b])
        const later = new Date(a.record.updatedAt.getTime() + 5000)
        const updated = Option.getOrThrow(yield* store.update(namespace, a.record.id, {
          content: { text: "first text, revised", hash: "hash-revised", embedding: unit(5), model: "test" },
          tags: ["t", "u"],
          metadata: { v: 2 },
          expiresAt: new Date(Date.now() + 60_000),
          updatedAt: later
        }))
        expect(updated).toMatchObject({ id: a.record.id, content: "first text, revised", tags: ["t", "u"], metadata: { v: 2 } })
        expect(updated.updatedAt.getTime()).toBe(later.getTime())
        expect(updated.createdAt.getTime()).toBe(a.record.createdAt.getTime())
        const [top] = yield* store.search({ namespace, embedding: unit(5), k: 1, minScore: 0 })
        expect(top!.record.id).toBe(a.record.id)
        const clash = yield* Effect.flip(store.update(namespace, a.record.id, {
          content: { text: "second text", hash: b.record.contentHash, embedding: unit(1), model: "test" },
          updatedAt: later
        }))
        expect(clash).toMatchObject({ _tag: "DuplicateContent", existingId: b.record.id })
        expect(Option.isNone(yield* store.update(namespace, "no-such-id", { updatedAt: later }))).toBe(true)
        const cleared = Option.getOrThrow(yield* store.update(namespace, a.record.id, { expiresAt: null, updatedAt: later }))
        expect(cleared.expiresAt).toBeNull()
      }))

    it.effect("lists, deletes and replaces by selector", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const at = (s: number) => new Date(Date.UTC(2024, 0, 1, 0, 0, s))
        const message = (content: string, s: number, sessionId: string) => {
          const item = newRecord({ content, namespace, kind: "message", sessionId }, unit(s))
          return { ...item, record: MemoryRecord.make({ ...item.record, createdAt: at(s), updatedAt: at(s) }) }
        }
        yield* store.insert([message("one", 1, "s1"), message("two", 2, "s1"), message("three", 3, "s1"), message("other", 4, "s2")])
        const history = (newestFirst: boolean, limit = 10) =>
          store.list({ namespace, sessionId: "s1", kinds: ["message"] }, { limit, newestFirst }).pipe(
            Effect.map((records) => records.map((r) => r.content))
          )
        expect(yield* history(false)).toEqual(["one", "two", "three"])
        expect(yield* history(true, 2)).toEqual(["three", "two"])
        expect(yield* store.deleteWhere({ namespace, sessionId: "s1" })).toBe(3)
        expect(yield* history(false)).toEqual([])
        // Replacing a document's chunks: the old ones go, the new ones come, together.
        const chunk = (content: string, documentId: string, i: number) =>
          newRecord({ content, namespace, kind: "knowledge", metadata: { documentId, position: i } }, unit(i))
        yield* store.insert([chunk("v1 a", "doc", 0), chunk("v1 b", "doc", 1), chunk("keep", "other", 0)])
        const selector = { namespace, kinds: ["knowledge" as const], filter: filterTree({ documentId: "doc" }) }
        const outcomes = yield* store.replace(selector, [chunk("v2 a", "doc", 0), chunk("v1 b", "doc", 1)])
        expect(outcomes.map((o) => o.deduplicated)).toEqual([false, false])
        const knowledge = yield* store.list({ namespace, kinds: ["knowledge"] }, { limit: 10 })
        expect(knowledge.map((r) => r.content).sort()).toEqual(["keep", "v1 b", "v2 a"])
      }))

    it.effect("selects by time: since/until bound occurredAt when set, else createdAt, in search, keyword search, list and deleteWhere", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const day = (d: number) => new Date(Date.UTC(2024, 4, d))
        // Stored on day 20; two of them say they happened earlier.
        const record = (content: string, axis: number, occurredAt: Date | null) => {
          const item = newRecord({ content, namespace, kind: "message", sessionId: "s" }, unit(axis))
          return { ...item, record: MemoryRecord.make({ ...item.record, createdAt: day(20), updatedAt: day(20), occurredAt }) }
        }
        yield* store.insert([record("apple early", 0, day(1)), record("apple middle", 1, day(10)), record("apple stored", 2, null)])
        const got = yield* store.get(namespace, (yield* store.list({ namespace }, { limit: 10 }))[0]!.id)
        expect(Option.getOrThrow(got).occurredAt).toEqual(day(1))
        const contents = (records: ReadonlyArray<{ readonly content: string }>) => records.map((r) => r.content).sort()
        const listed = (since?: Date, until?: Date) =>
          Effect.map(store.list({ namespace, since, until }, { limit: 10 }), contents)
        expect(yield* listed(day(5))).toEqual(["apple middle", "apple stored"])
        expect(yield* listed(undefined, day(10))).toEqual(["apple early", "apple middle"])
        // Both bounds are inclusive.
        expect(yield* listed(day(10), day(10))).toEqual(["apple middle"])
        expect(yield* listed(day(11), day(19))).toEqual([])
        // The list is in the order things happened, not stored.
        const ordered = yield* store.list({ namespace, sessionId: "s" }, { limit: 10 })
        expect(ordered.map((r) => r.content)).toEqual(["apple early", "apple middle", "apple stored"])
        const vector = yield* store.search({ namespace, embedding: unit(0), k: 10, minScore: 0, since: day(2), until: day(15) })
        expect(vector.map((h) => h.record.content)).toEqual(["apple middle"])
        const keyword = yield* store.keywordSearch({ namespace, text: "apple", k: 10, since: day(2) })
        expect(contents(keyword.map((h) => h.record))).toEqual(["apple middle", "apple stored"])
        expect(yield* store.deleteWhere({ namespace, until: day(9) })).toBe(1)
        expect(yield* listed()).toEqual(["apple middle", "apple stored"])
      }))

    it.effect("sweeps expired records and key/value entries", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        yield* store.insert([newRecord({ content: "gone", namespace, expiresAt: new Date(Date.now() - 1000) }, unit(0))])
        yield* store.kvSet(namespace, "old", 1, new Date(Date.now() - 1000))
        const swept = yield* store.deleteExpired
        expect(swept).toBeGreaterThanOrEqual(2)
        expect(yield* store.deleteExpired).toBe(0)
      }))

    it.effect("remembers, recalls and forgets key/value facts", () =>
      Effect.gen(function*() {
        const store = yield* MemoryStore
        const namespace = newNamespace()
        const value = { theme: "dark", sizes: [1, 2], nested: { ok: true }, text: "it's \"quoted\"" }
        const first = yield* store.kvSet(namespace, "prefs", value, null)
        expect(first).toMatchObject({ namespace, key: "prefs", value, expiresAt: null })
        expect(Option.getOrThrow(yield* store.kvGet(namespace, "prefs")).value).toEqual(value)
        expect(Option.isNone(yield* store.kvGet(newNamespace(), "prefs"))).toBe(true)
        const second = yield* store.kvSet(namespace, "prefs", "light", null)
        expect(second.value).toBe("light")
        expect(second.createdAt.getTime()).toBe(first.createdAt.getTime())
        yield* store.kvSet(namespace, "brief", 42, new Date(Date.now() - 1))
        expect(Option.isNone(yield* store.kvGet(namespace, "brief"))).toBe(true)
        expect(yield* store.kvDelete(namespace, "prefs")).toBe(true)
        expect(yield* store.kvDelete(namespace, "prefs")).toBe(false)
        expect(Option.isNone(yield* store.kvGet(namespace, "prefs"))).toBe(true)
      }))

    it.effect("answers ping", () => Effect.flatMap(MemoryStore, (store) => store.ping))
  })
