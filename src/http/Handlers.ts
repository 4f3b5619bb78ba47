/** The HttpApi groups implemented over the Memory service. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer } from "effect"
import { Memory } from "../memory/Memory.ts"
import { Embedder } from "../ports/Embedder.ts"
import { Api } from "./Api.ts"

export const MemoriesLive = HttpApiBuilder.group(Api, "memories", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers
      .handle("store", ({ payload }) => memory.store(payload))
      .handle("get", ({ path, urlParams }) => memory.get(path.id, urlParams.namespace))
      .handle("delete", ({ path, urlParams }) => memory.delete(path.id, urlParams.namespace))
  }))

export const SearchLive = HttpApiBuilder.group(Api, "search", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers.handle("search", ({ payload }) => memory.search(payload))
  }))

export const SystemLive = HttpApiBuilder.group(Api, "system", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const embedder = yield* Embedder
    return handlers
      .handle("health", () => Effect.succeed({ status: "ok" as const }))
      .handle("ready", () =>
        Effect.as(memory.ping, {
          status: "ready" as const,
          store: memory.provider,
          embedder: embedder.model,
          dimensions: embedder.dimensions
        }))
  }))

export const ApiLive = HttpApiBuilder.api(Api).pipe(Layer.provide([MemoriesLive, SearchLive, SystemLive]))
