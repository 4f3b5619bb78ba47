/**
 * The observability endpoints as an HttpApi group, for src/http/Api.ts to add:
 * GET /v1/stats (search statistics), GET /v1/alerts (recent heap monitor
 * alerts; `Accept: text/event-stream` streams them) and GET /metrics
 * (Prometheus text). The handlers are in the group's implementation next to the
 * other groups (Handlers.ts); AlertsResponse.respond and Prometheus.text do the work.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { AlertList } from "../monitor/AlertsResponse.ts"
import { StatsReport } from "./SearchStats.ts"

export class ObservabilityApi extends HttpApiGroup.make("observability")
  .add(
    HttpApiEndpoint.get("stats", "/v1/stats")
      .addSuccess(StatsReport)
      .annotate(OpenApi.Summary, "Search statistics: latency percentiles, cache hit rate, throughput, errors, caches, pool")
  )
  .add(
    HttpApiEndpoint.get("alerts", "/v1/alerts")
      .addSuccess(AlertList)
      .annotate(OpenApi.Summary, "Recent heap monitor alerts; with `Accept: text/event-stream`, a server-sent event per new alert")
  )
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4; charset=utf-8" }))
      .annotate(OpenApi.Summary, "Every metric in the Prometheus text format")
  )
{}
