/** Statistics and alerts (cross-tenant: admin keys only) and the Prometheus text behind the MetricsText port. */
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import * as AlertsResponse from "../../monitor/AlertsResponse.ts"
import { Monitor } from "../../monitor/Monitor.ts"
import { MetricsPoller } from "../../observability/MetricsPoller.ts"
import { MetricsText } from "../../observability/MetricsText.ts"
import { SearchStats } from "../../observability/SearchStats.ts"
import { Api } from "../Api.ts"
import { requireAdmin } from "../TenantNamespace.ts"

export const ObservabilityLive = HttpApiBuilder.group(Api, "observability", (handlers) =>
  Effect.gen(function*() {
    const stats = yield* SearchStats
    const monitor = yield* Monitor
    return handlers
      .handle("stats", () => Effect.zipRight(requireAdmin, stats.report))
      .handleRaw("alerts", ({ request }) => Effect.zipRight(requireAdmin, AlertsResponse.respond(monitor, request)))
  }))

export const MetricsLive = HttpApiBuilder.group(Api, "metrics", (handlers) =>
  Effect.gen(function*() {
    const poller = yield* MetricsPoller
    const metrics = yield* MetricsText
    return handlers.handle("metrics", () => Effect.zipRight(poller.refresh, metrics.render))
  }))
