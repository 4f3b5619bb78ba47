/**
 * The Store conformance suite: one set of behaviours every provider must show.
 * Run against each built-in provider (test/store.*.test.ts); a plugin author
 * can run it against theirs.
 */
import { expect, layer } from "@effect/vitest"
import { Effect, Exit, type Layer, Option } from "effect"
import { MemoryStore } from "../src/ports/MemoryStore.ts"
import { DIMENSIONS, newNamespace, newRecord, unit } from "./support/records.ts"

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
        expect(yield* contents({ filter: { lang: "en" } })).toEqual(["a", "c"])
        expect(yield* contents({ filter: { lang: "en", n: 1 } })).toEqual(["a"])
        expect(yield* contents({ filter: { n: null } })).toEqual(["c"])
        expect(yield* contents({ filter: { "deep.k": true } })).toEqual(["a"])
        expect(yield* contents({ filter: { missing: "x" } })).toEqual([])
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

    it.effect("answers ping", () => Effect.flatMap(MemoryStore, (store) => store.ping))
  })
