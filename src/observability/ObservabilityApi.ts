/**
 * The observability endpoints as HttpApi groups, for src/http/Api.ts to add:
 * `ObservabilityApi` under /v1 (GET /v1/stats, search statistics; GET
 * /v1/alerts, recent heap monitor alerts, `Accept: text/event-stream` streams
 * them), behind the API keys like the rest of /v1 and, being cross-tenant,
 * for admin keys only; `MetricsApi`, GET /metrics (Prometheus text), open like
 * /health for scrapers. The handlers are in src/http/observability/Http.ts.
 */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { AlertList } from "../monitor/AlertsResponse.ts"
import { StatsReport } from "./SearchStats.ts"

export class ObservabilityApi extends HttpApiGroup.make("observability")
  .add(
    HttpApiEndpoint.get("stats", "/stats")
      .addSuccess(StatsReport)
      .annotate(OpenApi.Summary, "Search statistics: latency percentiles, cache hit rate, throughput, errors, caches, pool (admin key)")
  )
  .add(
    HttpApiEndpoint.get("alerts", "/alerts")
      .addSuccess(AlertList)
      .annotate(OpenApi.Summary, "Recent heap monitor alerts; with `Accept: text/event-stream`, a server-sent event per new alert (admin key)")
  )
{}

export class MetricsApi extends HttpApiGroup.make("metrics")
  .add(
    HttpApiEndpoint.get("metrics", "/metrics")
      .addSuccess(HttpApiSchema.Text({ contentType: "text/plain; version=0.0.4; charset=utf-8" }))
      .annotate(OpenApi.Summary, "Every metric in the Prometheus text format")
  )
{}
