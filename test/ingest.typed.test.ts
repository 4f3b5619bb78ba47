/**
 * Memory.storeMany takes requests already typed (StoreMemoryRequest instances,
 * built in process) without decoding them again, beside raw values that it
 * decodes; a `request` that is not an instance is decoded like a raw value.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Stream } from "effect"
import * as MemoryLayers from "../layers/app.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import { MAX_TAGS, StoreMemoryRequest } from "../src/domain/Memory.ts"
import { Memory } from "../src/memory/Memory.ts"
import type { IngestItem } from "../src/memory/Ingest.ts"

const MemoryLive = MemoryLayers.layer({
  embedder: HashingEmbedder.layer({ dimensions: 64 }),
  store: ({ dimensions }) => InMemoryStore.layer({ dimensions })
})

it.effect("stores typed requests as given, decodes raw values and requests that are not instances", () =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const tooMany = Array.from({ length: MAX_TAGS + 1 }, (_, i) => `t${i}`)
    const items: Array<IngestItem> = [
      { index: 0, request: new StoreMemoryRequest({ content: "typed and valid", id: "t1", tags: ["a"] }) },
      { index: 1, value: { content: "raw and valid", id: "r1" } },
      { index: 2, value: { content: "" } },
      // Not an instance: checked like any value, so the empty content fails.
      { index: 3, request: { content: "" } as unknown as StoreMemoryRequest },
      // An instance was checked when it was made (here told to skip that): trusted as it is, not decoded again.
      { index: 4, request: new StoreMemoryRequest({ content: "typed, more tags than a request may hold", id: "t2", tags: tooMany }, true) }
    ]
    const result = yield* memory.storeMany(Stream.fromIterable(items), { namespace: "typed" })
    expect(result.stored).toBe(3)
    expect(result.failed.map((f) => [f.index, f._tag])).toEqual([[2, "InvalidInput"], [3, "InvalidInput"]])
    const got = yield* memory.get("t1", "typed")
    expect([got.content, got.tags]).toEqual(["typed and valid", ["a"]])
    expect((yield* memory.get("t2", "typed")).tags.length).toBe(MAX_TAGS + 1)
  }).pipe(Effect.provide(MemoryLive)))
