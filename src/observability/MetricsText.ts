/**
 * The port behind GET /metrics: every metric of the process rendered as
 * Prometheus text. The core declares it; otel/Prometheus.ts implements it and
 * the composition root (layers/app.ts) provides it, so src/ never imports the
 * OpenTelemetry SDK.
 */
import { Context, type Effect } from "effect"

export interface MetricsTextShape {
  readonly contentType: string
  readonly render: Effect.Effect<string>
}

export class MetricsText extends Context.Tag("agent-memory/MetricsText")<MetricsText, MetricsTextShape>() {}
