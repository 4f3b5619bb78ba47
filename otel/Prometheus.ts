/**
 * GET /metrics: every Effect metric of the process in the Prometheus text
 * format. @effect/opentelemetry's metric producer turns Effect's registry into
 * OpenTelemetry metric data (the same data OTLP exports), and
 * @opentelemetry/exporter-prometheus's serializer writes it out: counters get
 * `_total`, histograms `_bucket`/`_sum`/`_count`, names and labels are escaped.
 * No exporter, endpoint or SDK is involved: it works with telemetry off.
 */
import { Metrics, Resource } from "@effect/opentelemetry"
import { PrometheusSerializer } from "@opentelemetry/exporter-prometheus"
import { Config, Effect, Layer, Option } from "effect"
import { MetricsText } from "../src/observability/MetricsText.ts"

/** The Content-Type of the text format (version 0.0.4, what every Prometheus scrapes). */
export const contentType = "text/plain; version=0.0.4; charset=utf-8"

// No prefix, no timestamps; `target_info` carries the service name; no per-line scope label.
const serializer = new PrometheusSerializer(undefined, false, undefined, false, true)

/** The current value of every metric, as Prometheus text. */
export const text: Effect.Effect<string> = Effect.gen(function*() {
  const serviceName = yield* Config.option(Config.string("OTEL_SERVICE_NAME")).pipe(
    Effect.map(Option.getOrElse(() => "agent-memory")),
    Effect.orElseSucceed(() => "agent-memory")
  )
  const producer = yield* Metrics.makeProducer.pipe(Effect.provide(Resource.layer({ serviceName })))
  const { resourceMetrics } = yield* Effect.promise(() => producer.collect())
  return serializer.serialize(resourceMetrics)
})

/** The MetricsText port (GET /metrics) implemented with this serializer. */
export const layer: Layer.Layer<MetricsText> = Layer.succeed(MetricsText, { contentType, render: text })
