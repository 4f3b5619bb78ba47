/**
 * Telemetry: Effect's spans and metrics exported over OTLP/HTTP (to Jaeger, an
 * OpenTelemetry Collector, or any OTLP backend) through @effect/opentelemetry's
 * NodeSdk layer and the OpenTelemetry JS exporters.
 *
 * Configured only by the standard OTEL_* variables. Without an endpoint (or with
 * OTEL_SDK_DISABLED=true) the layer is empty: no SDK, no exporter, no overhead;
 * spans stay Effect's own and metrics stay readable through GET /metrics.
 *
 *   OTEL_EXPORTER_OTLP_ENDPOINT          base URL; /v1/traces and /v1/metrics are appended
 *   OTEL_EXPORTER_OTLP_TRACES_ENDPOINT   full URL for spans (wins over the base)
 *   OTEL_EXPORTER_OTLP_METRICS_ENDPOINT  full URL for metrics (wins over the base)
 *   OTEL_EXPORTER_OTLP_PROTOCOL (and _TRACES_/_METRICS_PROTOCOL)  http/protobuf (default) or http/json
 *   OTEL_EXPORTER_OTLP_HEADERS (and _TRACES_/_METRICS_HEADERS)    `key=value,…` (secret: kept Redacted)
 *   OTEL_TRACES_EXPORTER, OTEL_METRICS_EXPORTER   `otlp` (default) or `none`
 *   OTEL_SERVICE_NAME (default agent-memory), OTEL_RESOURCE_ATTRIBUTES
 *   OTEL_METRIC_EXPORT_INTERVAL (ms, default 60000), OTEL_BSP_SCHEDULE_DELAY (ms, default 5000)
 *   OTEL_SDK_DISABLED                    true turns everything off
 */
import { NodeSdk } from "@effect/opentelemetry"
import { OTLPMetricExporter as OTLPMetricExporterJson } from "@opentelemetry/exporter-metrics-otlp-http"
import { OTLPMetricExporter as OTLPMetricExporterProto } from "@opentelemetry/exporter-metrics-otlp-proto"
import { OTLPTraceExporter as OTLPTraceExporterJson } from "@opentelemetry/exporter-trace-otlp-http"
import { OTLPTraceExporter as OTLPTraceExporterProto } from "@opentelemetry/exporter-trace-otlp-proto"
// The SDK's processors and readers, through @opentelemetry/sdk-node (the product's OpenTelemetry SDK).
import { metrics as sdkMetrics, tracing as sdkTracing } from "@opentelemetry/sdk-node"
import { Config, ConfigError, Duration, Effect, Either, Layer, Option, Redacted } from "effect"

export type OtlpProtocol = "http/protobuf" | "http/json"

export interface OtlpTarget {
  /** The full URL, e.g. `http://jaeger:4318/v1/traces`. */
  readonly url: string
  readonly protocol?: OtlpProtocol | undefined
  /** Extra request headers (e.g. an API key), as `key=value,…`. */
  readonly headers?: Redacted.Redacted | undefined
}

export interface TelemetryOptions {
  readonly serviceName: string
  readonly serviceVersion?: string | undefined
  /** Where spans go; none: spans are not exported. */
  readonly traces?: (OtlpTarget & { readonly exportDelay?: Duration.DurationInput | undefined }) | undefined
  /** Where metrics go; none: metrics are not exported (GET /metrics still serves them). */
  readonly metrics?: (OtlpTarget & { readonly exportInterval?: Duration.DurationInput | undefined }) | undefined
  /** How long shutdown waits for the last export. */
  readonly shutdownTimeout?: Duration.DurationInput | undefined
}

/** `a=1,b=2` (values URL-encoded, as the OTLP exporter spec says) to a header map. */
export const parseHeaders = (text: string): Record<string, string> => {
  const headers: Record<string, string> = {}
  for (const pair of text.split(",")) {
    const at = pair.indexOf("=")
    if (at <= 0) continue
    const key = pair.slice(0, at).trim()
    const value = pair.slice(at + 1).trim()
    try {
      headers[key] = decodeURIComponent(value)
    } catch {
      headers[key] = value
    }
  }
  return headers
}

const exporterOptions = (target: OtlpTarget) => ({
  url: target.url,
  ...(target.headers === undefined ? {} : { headers: parseHeaders(Redacted.value(target.headers)) })
})

/**
 * Exports spans and metrics to the targets given. With neither, this is
 * Layer.empty: nothing is installed.
 */
export const layer = (options: TelemetryOptions): Layer.Layer<never> => {
  const { metrics, traces } = options
  if (traces === undefined && metrics === undefined) return Layer.empty
  return NodeSdk.layer(() => ({
    resource: {
      serviceName: options.serviceName,
      ...(options.serviceVersion === undefined ? {} : { serviceVersion: options.serviceVersion })
    },
    shutdownTimeout: options.shutdownTimeout ?? Duration.seconds(5),
    spanProcessor: traces === undefined ? undefined : new sdkTracing.BatchSpanProcessor(
      traces.protocol === "http/json"
        ? new OTLPTraceExporterJson(exporterOptions(traces))
        : new OTLPTraceExporterProto(exporterOptions(traces)),
      { scheduledDelayMillis: Duration.toMillis(traces.exportDelay ?? Duration.seconds(5)) }
    ),
    metricReader: metrics === undefined ? undefined : (() => {
      const interval = Duration.toMillis(metrics.exportInterval ?? Duration.minutes(1))
      return new sdkMetrics.PeriodicExportingMetricReader({
        exporter: metrics.protocol === "http/json"
          ? new OTLPMetricExporterJson(exporterOptions(metrics))
          : new OTLPMetricExporterProto(exporterOptions(metrics)),
        exportIntervalMillis: interval,
        // The SDK requires the timeout not to exceed the interval.
        exportTimeoutMillis: Math.min(interval, 30_000)
      })
    })()
  })).pipe(Layer.discard)
}

// --- configuration from OTEL_* ------------------------------------------------------------------------

const optionalString = (name: string) =>
  Config.string(name).pipe(
    Config.option,
    Config.map(Option.filter((s) => s.trim().length > 0)),
    Config.map(Option.map((s) => s.trim()))
  )

const protocol = (name: string): Config.Config<Option.Option<OtlpProtocol>> =>
  optionalString(name).pipe(
    Config.mapOrFail((value) => {
      if (Option.isNone(value)) return Either.right(Option.none())
      const p = value.value.toLowerCase()
      return p === "http/protobuf" || p === "http/json"
        ? Either.right(Option.some(p as OtlpProtocol))
        : Either.left(ConfigError.InvalidData([name], `"${value.value}" is not supported (use http/protobuf or http/json; grpc is not)`))
    })
  )

const exporterChoice = (name: string) =>
  optionalString(name).pipe(
    Config.mapOrFail((value) => {
      const v = Option.getOrElse(value, () => "otlp").toLowerCase()
      return v === "otlp" || v === "none"
        ? Either.right(v === "otlp")
        : Either.left(ConfigError.InvalidData([name], `"${v}" is not supported (use otlp or none)`))
    })
  )

const millis = (name: string, fallback: number) =>
  Config.number(name).pipe(
    Config.validate({ message: "must be a number of milliseconds above 0", validation: (n) => n > 0 }),
    Config.withDefault(fallback),
    Config.map(Duration.millis)
  )

const redactedOption = (name: string) =>
  Config.redacted(name).pipe(Config.option, Config.map(Option.filter((r) => Redacted.value(r).trim().length > 0)))

/** `base` + `/v1/traces`, keeping any path the base has (as the OTLP exporter spec says). */
const signalUrl = (base: string, signal: "traces" | "metrics") => `${base.replace(/\/+$/, "")}/v1/${signal}`

/** The telemetry options from the standard OTEL_* variables. */
export const config: Config.Config<TelemetryOptions> = Config.all({
  disabled: Config.boolean("OTEL_SDK_DISABLED").pipe(Config.withDefault(false)),
  serviceName: Config.string("OTEL_SERVICE_NAME").pipe(Config.withDefault("agent-memory")),
  endpoint: optionalString("OTEL_EXPORTER_OTLP_ENDPOINT"),
  tracesEndpoint: optionalString("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"),
  metricsEndpoint: optionalString("OTEL_EXPORTER_OTLP_METRICS_ENDPOINT"),
  protocol: protocol("OTEL_EXPORTER_OTLP_PROTOCOL"),
  tracesProtocol: protocol("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"),
  metricsProtocol: protocol("OTEL_EXPORTER_OTLP_METRICS_PROTOCOL"),
  headers: redactedOption("OTEL_EXPORTER_OTLP_HEADERS"),
  tracesHeaders: redactedOption("OTEL_EXPORTER_OTLP_TRACES_HEADERS"),
  metricsHeaders: redactedOption("OTEL_EXPORTER_OTLP_METRICS_HEADERS"),
  tracesOn: exporterChoice("OTEL_TRACES_EXPORTER"),
  metricsOn: exporterChoice("OTEL_METRICS_EXPORTER"),
  exportDelay: millis("OTEL_BSP_SCHEDULE_DELAY", 5_000),
  exportInterval: millis("OTEL_METRIC_EXPORT_INTERVAL", 60_000)
}).pipe(
  Config.map((c): TelemetryOptions => {
    const target = (signal: "traces" | "metrics", on: boolean, own: Option.Option<string>) => {
      if (c.disabled || !on) return Option.none<string>()
      return Option.orElse(own, () => Option.map(c.endpoint, (base) => signalUrl(base, signal)))
    }
    const traces = target("traces", c.tracesOn, c.tracesEndpoint)
    const metrics = target("metrics", c.metricsOn, c.metricsEndpoint)
    const headers = (own: Option.Option<Redacted.Redacted>) => Option.getOrUndefined(Option.orElse(own, () => c.headers))
    return {
      serviceName: c.serviceName,
      traces: Option.match(traces, {
        onNone: () => undefined,
        onSome: (url) => ({
          url,
          protocol: Option.getOrElse(Option.orElse(c.tracesProtocol, () => c.protocol), () => "http/protobuf" as const),
          headers: headers(c.tracesHeaders),
          exportDelay: c.exportDelay
        })
      }),
      metrics: Option.match(metrics, {
        onNone: () => undefined,
        onSome: (url) => ({
          url,
          protocol: Option.getOrElse(Option.orElse(c.metricsProtocol, () => c.protocol), () => "http/protobuf" as const),
          headers: headers(c.metricsHeaders),
          exportInterval: c.exportInterval
        })
      })
    }
  })
)

/** Telemetry as the environment configures it; Layer.empty when no endpoint is set. */
export const layerConfig = (options: Config.Config<TelemetryOptions> = config): Layer.Layer<never, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(options, layer))

/**
 * For a process of its own (the server, the CLI): telemetry as configured and, with no traces
 * target, no spans made at all. A span no one exports still costs its ids, attributes and
 * allocations (~1.7 KB a cached search over HTTP); with the tracer off, Effect.withSpan costs
 * nothing. (An application embedding the layers keeps its own tracer: `layerConfig` leaves it be.)
 */
export const processLayerConfig = (options: Config.Config<TelemetryOptions> = config): Layer.Layer<never, ConfigError.ConfigError> =>
  Layer.unwrapEffect(Effect.map(options, (o) => o.traces === undefined ? Layer.merge(layer(o), Layer.setTracerEnabled(false)) : layer(o)))
