/**
 * The HttpApi groups implemented over the Memory service. Every /v1 handler
 * first settles the namespace it works in (named, or the API key's own) and
 * checks the caller may use it.
 */
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Layer } from "effect"
import * as Prometheus from "../../otel/Prometheus.ts"
import { Memory } from "../memory/Memory.ts"
import * as AlertsResponse from "../monitor/AlertsResponse.ts"
import { Monitor } from "../monitor/Monitor.ts"
import { MetricsPoller } from "../observability/MetricsPoller.ts"
import { SearchStats } from "../observability/SearchStats.ts"
import { Api } from "./Api.ts"
import * as Auth from "./Auth.ts"
import { batchItems } from "./batchBody.ts"

const { namespaceFor } = Auth

export const MemoriesLive = HttpApiBuilder.group(Api, "memories", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers
      .handle("store", ({ payload }) =>
        Effect.flatMap(namespaceFor(payload.namespace), (namespace) => memory.store({ ...payload, namespace })))
      .handleRaw("storeBatch", ({ request, urlParams }) =>
        Effect.gen(function*() {
          const { defaults, items } = yield* batchItems(request)
          const namespace = yield* namespaceFor(defaults.namespace ?? urlParams.namespace)
          const allow = yield* Auth.allowedNamespaces
          return yield* memory.storeMany(items, { namespace, kind: defaults.kind ?? urlParams.kind, allow })
        }))
      .handle("deleteWhere", ({ payload }) =>
        Effect.flatMap(namespaceFor(payload.namespace), (namespace) =>
          Effect.map(memory.deleteWhere({ ...payload, namespace }), (deleted) => ({ deleted }))))
      .handle("get", ({ path, urlParams }) => Effect.flatMap(namespaceFor(urlParams.namespace), (ns) => memory.get(path.id, ns)))
      .handle("update", ({ path, payload, urlParams }) =>
        Effect.flatMap(namespaceFor(urlParams.namespace), (ns) => memory.update(path.id, payload, ns)))
      .handle("delete", ({ path, urlParams }) => Effect.flatMap(namespaceFor(urlParams.namespace), (ns) => memory.delete(path.id, ns)))
  }))

export const SearchLive = HttpApiBuilder.group(Api, "search", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers
      .handle("search", ({ payload }) =>
        Effect.flatMap(namespaceFor(payload.namespace), (namespace) => memory.search({ ...payload, namespace })))
      .handle("context", ({ payload }) =>
        Effect.flatMap(namespaceFor(payload.namespace), (namespace) => memory.context({ ...payload, namespace })))
  }))

export const DocumentsLive = HttpApiBuilder.group(Api, "documents", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers.handle("ingest", ({ payload }) =>
      Effect.flatMap(namespaceFor(payload.namespace), (namespace) => memory.ingestDocument({ ...payload, namespace })))
  }))

export const KeyValueLive = HttpApiBuilder.group(Api, "kv", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers
      .handle("remember", ({ path, payload }) =>
        Effect.flatMap(namespaceFor(payload.namespace), (namespace) => memory.remember(path.key, { ...payload, namespace })))
      .handle("recall", ({ path, urlParams }) => Effect.flatMap(namespaceFor(urlParams.namespace), (ns) => memory.recall(path.key, ns)))
      .handle("forget", ({ path, urlParams }) => Effect.flatMap(namespaceFor(urlParams.namespace), (ns) => memory.forget(path.key, ns)))
  }))

export const SessionsLive = HttpApiBuilder.group(Api, "sessions", (handlers) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    return handlers
      .handle("addMessage", ({ path, payload }) =>
        Effect.flatMap(namespaceFor(payload.namespace), (namespace) => memory.addMessage(path.id, { ...payload, namespace })))
      .handle("history", ({ path, urlParams }) =>
        Effect.flatMap(namespaceFor(urlParams.namespace), (namespace) => memory.history(path.id, { ...urlParams, namespace })))
      .handle("clear", ({ path, urlParams }) =>
        Effect.flatMap(namespaceFor(urlParams.namespace), (ns) =>
          Effect.map(memory.clearSession(path.id, ns), (deleted) => ({ deleted }))))
  }))

export const ObservabilityLive = HttpApiBuilder.group(Api, "observability", (handlers) =>
  Effect.gen(function*() {
    const stats = yield* SearchStats
    const monitor = yield* Monitor
    const poller = yield* MetricsPoller
    return handlers
      .handle("stats", () => stats.report)
      .handleRaw("alerts", ({ request }) => AlertsResponse.respond(monitor, request))
      .handle("metrics", () => Effect.zipRight(poller.refresh, Prometheus.text))
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
  Layer.provide([MemoriesLive, SearchLive, DocumentsLive, KeyValueLive, SessionsLive, ObservabilityLive, SystemLive]),
  Layer.provide(Auth.layer)
)
