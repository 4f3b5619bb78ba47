/**
 * agent-memory embedded in another Effect program, as a library: the memory
 * layers provided with Layer.provide, Memory used directly, no HTTP. The imports
 * are the package's subpaths (agent-memory, agent-memory/layers,
 * agent-memory/embedder/local, agent-memory/store/pglite) at their sources;
 * test/packaging.test.ts runs README's example against the packed build.
 */
import { expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import * as AgentMemory from "../src/index.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as MemoryLayers from "../layers/app.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"

// The application's own service, which uses Memory.
class Assistant extends Effect.Service<Assistant>()("example/Assistant", {
  effect: Effect.gen(function*() {
    const memory = yield* AgentMemory.Memory
    return {
      learn: (fact: string) => memory.store(new AgentMemory.StoreMemoryRequest({ content: fact, namespace: "assistant" })),
      answer: (question: string) =>
        Effect.map(
          memory.search(new AgentMemory.SearchRequest({ query: question, namespace: "assistant", k: 1 })),
          (found) => found.hits[0]?.content ?? "I don't know"
        )
    }
  })
}) {}

const MemoryLive = MemoryLayers.layer({
  embedder: HashingEmbedder.layer({ dimensions: 512 }),
  store: ({ dimensions }) => PgliteStore.layer({ dataDir: "memory://", dimensions })
})

const AppLive = Assistant.Default.pipe(Layer.provide(MemoryLive))

it.effect("an Effect app embeds the memory layers and uses Memory without HTTP", () =>
  Effect.gen(function*() {
    const assistant = yield* Assistant
    yield* assistant.learn("The wifi password is on the fridge")
    yield* assistant.learn("Standup is at 9:30 every weekday")
    expect(yield* assistant.answer("where is the wifi password?")).toBe("The wifi password is on the fridge")
    expect(yield* assistant.answer("when is standup")).toBe("Standup is at 9:30 every weekday")
    // Typed errors come through as values of the library's own error classes.
    const memory = yield* AgentMemory.Memory
    const error = yield* Effect.flip(memory.get("nope", "assistant"))
    expect(error).toBeInstanceOf(AgentMemory.MemoryNotFound)
  }).pipe(Effect.provide(Layer.merge(AppLive, MemoryLive))), 60_000)
