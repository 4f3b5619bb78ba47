/** The HttpApi groups implemented over the Memory service. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer } from "effect"
import { Memory } from "../memory/Memory.ts"
import { Api } from "./Api.ts"
import { batchItems } from "./batchBody.ts"

export const MemoriesLive = HttpApiBuilder.group(Api, "memories", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers
      .handle("store", ({ payload }) => memory.store(payload))
      .handleRaw("storeBatch", ({ request, urlParams }) =>
        Effect.flatMap(batchItems(request), ({ defaults, items }) =>
          memory.storeMany(items, {
            namespace: defaults.namespace ?? urlParams.namespace,
            kind: defaults.kind ?? urlParams.kind
          })))
      .handle("deleteWhere", ({ payload }) => Effect.map(memory.deleteWhere(payload), (deleted) => ({ deleted })))
      .handle("get", ({ path, urlParams }) => memory.get(path.id, urlParams.namespace))
      .handle("update", ({ path, payload, urlParams }) => memory.update(path.id, payload, urlParams.namespace))
      .handle("delete", ({ path, urlParams }) => memory.delete(path.id, urlParams.namespace))
  }))

export const SearchLive = HttpApiBuilder.group(Api, "search", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers
      .handle("search", ({ payload }) => memory.search(payload))
      .handle("context", ({ payload }) => memory.context(payload))
  }))

export const DocumentsLive = HttpApiBuilder.group(Api, "documents", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers.handle("ingest", ({ payload }) => memory.ingestDocument(payload))
  }))

export const KeyValueLive = HttpApiBuilder.group(Api, "kv", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers
      .handle("remember", ({ path, payload }) => memory.remember(path.key, payload))
      .handle("recall", ({ path, urlParams }) => memory.recall(path.key, urlParams.namespace))
      .handle("forget", ({ path, urlParams }) => memory.forget(path.key, urlParams.namespace))
  }))

export const SessionsLive = HttpApiBuilder.group(Api, "sessions", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers
      .handle("addMessage", ({ path, payload }) => memory.addMessage(path.id, payload))
      .handle("history", ({ path, urlParams }) => memory.history(path.id, urlParams))
      .handle("clear", ({ path, urlParams }) =>
        Effect.map(memory.clearSession(path.id, urlParams.namespace), (deleted) => ({ deleted })))
  }))

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

export const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([MemoriesLive, SearchLive, DocumentsLive, KeyValueLive, SessionsLive, SystemLive])
)
