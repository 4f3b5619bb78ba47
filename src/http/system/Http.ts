/** Liveness and readiness. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { Memory } from "../../memory/Memory.ts"
import { Api } from "../Api.ts"

export const SystemLive = HttpApiBuilder.group(Api, "system", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers
      .handle("health", () => Effect.succeed({ status: "ok" as const }))
      .handle("ready", () =>
        Effect.as(memory.ping, {
          status: "ready" as const,
          store: memory.provider,
          embedder: memory.embedder.model,
          dimensions: memory.embedder.dimensions
        }))
  }))
