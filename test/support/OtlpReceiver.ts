/**
 * An OTLP/HTTP receiver for tests: a stand-in for the collector of Jaeger (or any OTLP backend) that
 * keeps what it receives in memory, flattened so that tests can assert on it.
 *
 * Accepts `POST /v1/traces`, `/v1/metrics` and `/v1/logs` with OTLP JSON (`application/json`, what
 * @effect/opentelemetry's OtlpSerialization.layerJson and the @opentelemetry *-otlp-http exporters send) or
 * OTLP protobuf (`application/x-protobuf`, decoded with protobufjs when it is installed; it is here, via
 * testcontainers), optionally `content-encoding: gzip` (or deflate). Answers 200 with an empty
 * Export*ServiceResponse (`{}`, or zero protobuf bytes), i.e. everything accepted.
 */
import { createServer, type IncomingMessage, type ServerResponse } from "node:http"
import type { AddressInfo } from "node:net"
import { gunzipSync, inflateSync } from "node:zlib"
import { Duration, Effect, type Scope } from "effect"

// --- what tests see -----------------------------------------------------------------------------------

export type AttributeValue =
  | string
  | number
  | boolean
  | null
  | ReadonlyArray<AttributeValue>
  | { readonly [key: string]: AttributeValue }

export type Attributes = Readonly<Record<string, AttributeValue>>

/** Lower case, as Effect's `SpanKind`; "unspecified" when the exporter sent none. */
export type SpanKind = "unspecified" | "internal" | "server" | "client" | "producer" | "consumer"

export interface ReceivedSpan {
  /** 32 lower-case hex digits. */
  readonly traceId: string
  /** 16 lower-case hex digits. */
  readonly spanId: string
  /** Absent for a root span. */
  readonly parentSpanId?: string
  readonly traceState?: string
  readonly name: string
  readonly kind: SpanKind
  readonly startTimeUnixNano: bigint
  readonly endTimeUnixNano: bigint
  readonly attributes: Attributes
  readonly events: ReadonlyArray<{ readonly name: string; readonly timeUnixNano: bigint; readonly attributes: Attributes }>
  readonly links: ReadonlyArray<{ readonly traceId: string; readonly spanId: string; readonly attributes: Attributes }>
  readonly status: { readonly code: "unset" | "ok" | "error"; readonly message?: string }
  /** The resource's attributes, e.g. `service.name`. */
  readonly resource: Attributes
  /** The instrumentation scope's name. */
  readonly scope: string
  readonly scopeVersion?: string
}

export type MetricType = "sum" | "gauge" | "histogram" | "exponentialHistogram" | "summary"

export interface ReceivedDataPoint {
  readonly attributes: Attributes
  readonly startTimeUnixNano?: bigint
  readonly timeUnixNano?: bigint
  /** sum and gauge: asDouble or asInt. */
  readonly value?: number
  /** histogram, exponentialHistogram, summary. */
  readonly count?: number
  readonly sum?: number
  readonly min?: number
  readonly max?: number
  /** histogram: `explicitBounds.length + 1` counts. */
  readonly bucketCounts?: ReadonlyArray<number>
  readonly explicitBounds?: ReadonlyArray<number>
  /** exponentialHistogram. */
  readonly scale?: number
  readonly zeroCount?: number
  readonly positive?: { readonly offset: number; readonly bucketCounts: ReadonlyArray<number> }
  readonly negative?: { readonly offset: number; readonly bucketCounts: ReadonlyArray<number> }
  /** summary. */
  readonly quantiles?: ReadonlyArray<{ readonly quantile: number; readonly value: number }>
}

export interface ReceivedMetric {
  readonly name: string
  readonly description: string
  readonly unit: string
  readonly type: MetricType
  /** sum only. */
  readonly monotonic?: boolean
  /** sum, histogram, exponentialHistogram. */
  readonly temporality?: "unspecified" | "delta" | "cumulative"
  readonly dataPoints: ReadonlyArray<ReceivedDataPoint>
  readonly resource: Attributes
  readonly scope: string
}

export interface ReceivedLog {
  readonly timeUnixNano?: bigint
  readonly observedTimeUnixNano?: bigint
  readonly severityNumber?: number
  readonly severityText?: string
  readonly body?: AttributeValue
  readonly attributes: Attributes
  readonly traceId?: string
  readonly spanId?: string
  readonly eventName?: string
  readonly resource: Attributes
  readonly scope: string
}

/** One export request, as it came over the wire. */
export interface ReceivedRequest {
  readonly path: "/v1/traces" | "/v1/metrics" | "/v1/logs"
  readonly contentType: "json" | "protobuf"
  readonly contentEncoding?: string
  /** Size of the body on the wire (compressed, if it was). */
  readonly bytes: number
  readonly userAgent?: string
}

export interface OtlpReceiver {
  /** `http://127.0.0.1:PORT`: the OTLP base URL (exporters append `/v1/traces` etc.). */
  readonly endpoint: string
  /** Every span received so far (since the last `reset()`), in arrival order. */
  readonly spans: () => ReadonlyArray<ReceivedSpan>
  /** Every metric received so far: one entry per metric per export, so a metric exported periodically appears repeatedly. */
  readonly metrics: () => ReadonlyArray<ReceivedMetric>
  readonly logs: () => ReadonlyArray<ReceivedLog>
  readonly requests: () => ReadonlyArray<ReceivedRequest>
  /** Bodies that could not be decoded (each was answered 400). */
  readonly errors: () => ReadonlyArray<string>
  /**
   * Waits until at least `atLeast` (default 1) received spans satisfy `predicate`, and answers those spans.
   * Fails after `timeout` (default 10 seconds) naming the spans that did arrive.
   */
  readonly waitForSpans: (
    predicate: (span: ReceivedSpan) => boolean,
    timeout?: Duration.DurationInput,
    atLeast?: number
  ) => Effect.Effect<ReadonlyArray<ReceivedSpan>, Error>
  /**
   * Waits until a metric named `name` (and satisfying `predicate`, if given) arrives, and answers the latest
   * such one. Fails after `timeout` (default 10 seconds).
   */
  readonly waitForMetric: (
    name: string,
    timeout?: Duration.DurationInput,
    predicate?: (metric: ReceivedMetric) => boolean
  ) => Effect.Effect<ReceivedMetric, Error>
  /** Forgets everything received so far. */
  readonly reset: () => void
}

// --- decoding -----------------------------------------------------------------------------------------

type Json = any

/** A field by its lowerCamelCase name, or by its proto (snake_case) name, which OTLP/JSON receivers accept too. */
const get = (o: Json, camel: string): Json => {
  if (o === null || typeof o !== "object") return undefined
  if (o[camel] !== undefined) return o[camel]
  return o[camel.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)]
}
const list = (o: Json, camel: string): Array<Json> => {
  const value = get(o, camel)
  return Array.isArray(value) ? value : []
}

/** Adds `key: value` only when value is defined (exactOptionalPropertyTypes). */
const opt = <K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } =>
  (value === undefined ? {} : { [key]: value }) as { [P in K]?: V }

/** int64/fixed64 as the JSON mapping allows (string or number) or as protobufjs Long-likes. */
const toBigInt = (value: Json): bigint | undefined => {
  if (value === undefined || value === null || value === "") return undefined
  if (typeof value === "bigint") return value
  if (typeof value === "number") return BigInt(Math.trunc(value))
  if (typeof value === "string") return BigInt(value)
  if (typeof value === "object" && "low" in value && "high" in value) {
    return (BigInt(value.high >>> 0) << 32n) + BigInt(value.low >>> 0)
  }
  return undefined
}
const toNumber = (value: Json): number | undefined => {
  if (value === undefined || value === null || value === "") return undefined
  if (typeof value === "number") return value
  if (typeof value === "string") return Number(value) // also "NaN", "Infinity" of the JSON mapping
  const big = toBigInt(value)
  return big === undefined ? undefined : Number(big)
}

/**
 * Trace and span ids: OTLP/JSON sends them as hex (the spec, and what the JS and Effect exporters do), the
 * generic protobuf JSON mapping (and protobufjs) as base64. Answers lower-case hex, or undefined when empty.
 */
const toHexId = (value: Json, bytes: number): string | undefined => {
  if (value === undefined || value === null || value === "") return undefined
  let hex: string
  if (value instanceof Uint8Array) hex = Buffer.from(value).toString("hex")
  else if (typeof value !== "string") return undefined
  else if (value.length === bytes * 2 && /^[0-9a-fA-F]+$/.test(value)) hex = value.toLowerCase()
  else hex = Buffer.from(value, "base64").toString("hex")
  // All zeros is the invalid id; some exporters send it for "no parent".
  return hex === "" || /^0+$/.test(hex) ? undefined : hex
}

const anyValue = (value: Json): AttributeValue => {
  if (value === undefined || value === null || typeof value !== "object") return null
  const string = get(value, "stringValue")
  if (string !== undefined) return String(string)
  const bool = get(value, "boolValue")
  if (bool !== undefined) return Boolean(bool)
  const int = get(value, "intValue")
  if (int !== undefined) return toNumber(int) ?? null
  const double = get(value, "doubleValue")
  if (double !== undefined) return toNumber(double) ?? null
  const array = get(value, "arrayValue")
  if (array !== undefined) return list(array, "values").map(anyValue)
  const kvlist = get(value, "kvlistValue")
  if (kvlist !== undefined) return attributes(list(kvlist, "values"))
  const bytes = get(value, "bytesValue")
  if (bytes !== undefined) return bytes instanceof Uint8Array ? Buffer.from(bytes).toString("base64") : String(bytes)
  return null
}

const attributes = (keyValues: ReadonlyArray<Json>): Attributes => {
  const out: Record<string, AttributeValue> = {}
  for (const kv of keyValues) {
    const key = get(kv, "key")
    if (typeof key === "string") out[key] = anyValue(get(kv, "value"))
  }
  return out
}

const enumName = <A extends string>(value: Json, names: ReadonlyArray<A>, prefix: string): A | undefined => {
  if (typeof value === "number") return names[value]
  if (typeof value === "string") {
    const name = value.startsWith(prefix) ? value.slice(prefix.length).toLowerCase() : value.toLowerCase()
    return names.find((n) => n.toLowerCase() === name.replace(/_/g, ""))
  }
  return undefined
}

const spanKinds: ReadonlyArray<SpanKind> = ["unspecified", "internal", "server", "client", "producer", "consumer"]
const statusCodes: ReadonlyArray<"unset" | "ok" | "error"> = ["unset", "ok", "error"]
const temporalities: ReadonlyArray<"unspecified" | "delta" | "cumulative"> = ["unspecified", "delta", "cumulative"]

/** ExportTraceServiceRequest (camelCase object) to flat spans. */
export const flattenTraces = (request: Json): Array<ReceivedSpan> =>
  list(request, "resourceSpans").flatMap((resourceSpans) => {
    const resource = attributes(list(get(resourceSpans, "resource"), "attributes"))
    return list(resourceSpans, "scopeSpans").flatMap((scopeSpans) => {
      const scope = get(scopeSpans, "scope")
      return list(scopeSpans, "spans").map((span): ReceivedSpan => {
        const status = get(span, "status")
        const message = get(status, "message")
        return {
          traceId: toHexId(get(span, "traceId"), 16) ?? "",
          spanId: toHexId(get(span, "spanId"), 8) ?? "",
          ...opt("parentSpanId", toHexId(get(span, "parentSpanId"), 8)),
          ...opt("traceState", get(span, "traceState") || undefined),
          name: String(get(span, "name") ?? ""),
          kind: enumName(get(span, "kind"), spanKinds, "SPAN_KIND_") ?? "unspecified",
          startTimeUnixNano: toBigInt(get(span, "startTimeUnixNano")) ?? 0n,
          endTimeUnixNano: toBigInt(get(span, "endTimeUnixNano")) ?? 0n,
          attributes: attributes(list(span, "attributes")),
          events: list(span, "events").map((event) => ({
            name: String(get(event, "name") ?? ""),
            timeUnixNano: toBigInt(get(event, "timeUnixNano")) ?? 0n,
            attributes: attributes(list(event, "attributes"))
          })),
          links: list(span, "links").map((link) => ({
            traceId: toHexId(get(link, "traceId"), 16) ?? "",
            spanId: toHexId(get(link, "spanId"), 8) ?? "",
            attributes: attributes(list(link, "attributes"))
          })),
          status: {
            code: enumName(get(status, "code"), statusCodes, "STATUS_CODE_") ?? "unset",
            ...opt("message", typeof message === "string" && message !== "" ? message : undefined)
          },
          resource,
          scope: String(get(scope, "name") ?? ""),
          ...opt("scopeVersion", get(scope, "version") || undefined)
        }
      })
    })
  })

const numbers = (values: ReadonlyArray<Json>): Array<number> => values.map((v) => toNumber(v) ?? 0)

const dataPoint = (point: Json): ReceivedDataPoint => {
  const asDouble = get(point, "asDouble")
  const asInt = get(point, "asInt")
  const buckets = (b: Json) =>
    b === undefined || b === null ? undefined : { offset: toNumber(get(b, "offset")) ?? 0, bucketCounts: numbers(list(b, "bucketCounts")) }
  const bucketCounts = get(point, "bucketCounts")
  const explicitBounds = get(point, "explicitBounds")
  const quantiles = get(point, "quantileValues")
  return {
    attributes: attributes(list(point, "attributes")),
    ...opt("startTimeUnixNano", toBigInt(get(point, "startTimeUnixNano"))),
    ...opt("timeUnixNano", toBigInt(get(point, "timeUnixNano"))),
    ...opt("value", asDouble !== undefined ? toNumber(asDouble) : asInt !== undefined ? toNumber(asInt) : undefined),
    ...opt("count", toNumber(get(point, "count"))),
    ...opt("sum", toNumber(get(point, "sum"))),
    ...opt("min", toNumber(get(point, "min"))),
    ...opt("max", toNumber(get(point, "max"))),
    ...opt("bucketCounts", Array.isArray(bucketCounts) ? numbers(bucketCounts) : undefined),
    ...opt("explicitBounds", Array.isArray(explicitBounds) ? numbers(explicitBounds) : undefined),
    ...opt("scale", toNumber(get(point, "scale"))),
    ...opt("zeroCount", toNumber(get(point, "zeroCount"))),
    ...opt("positive", buckets(get(point, "positive"))),
    ...opt("negative", buckets(get(point, "negative"))),
    ...opt(
      "quantiles",
      Array.isArray(quantiles)
        ? quantiles.map((q) => ({ quantile: toNumber(get(q, "quantile")) ?? 0, value: toNumber(get(q, "value")) ?? 0 }))
        : undefined
    )
  }
}

const metricTypes: ReadonlyArray<MetricType> = ["sum", "gauge", "histogram", "exponentialHistogram", "summary"]

/** ExportMetricsServiceRequest (camelCase object) to flat metrics. */
export const flattenMetrics = (request: Json): Array<ReceivedMetric> =>
  list(request, "resourceMetrics").flatMap((resourceMetrics) => {
    const resource = attributes(list(get(resourceMetrics, "resource"), "attributes"))
    return list(resourceMetrics, "scopeMetrics").flatMap((scopeMetrics) => {
      const scope = String(get(get(scopeMetrics, "scope"), "name") ?? "")
      return list(scopeMetrics, "metrics").flatMap((metric): Array<ReceivedMetric> => {
        const type = metricTypes.find((t) => get(metric, t) !== undefined && get(metric, t) !== null)
        if (type === undefined) return []
        const data = get(metric, type)
        const temporality = get(data, "aggregationTemporality")
        const monotonic = get(data, "isMonotonic")
        return [{
          name: String(get(metric, "name") ?? ""),
          description: String(get(metric, "description") ?? ""),
          unit: String(get(metric, "unit") ?? ""),
          type,
          ...opt("monotonic", type === "sum" ? Boolean(monotonic) : undefined),
          ...opt(
            "temporality",
            type === "sum" || type === "histogram" || type === "exponentialHistogram"
              ? enumName(temporality, temporalities, "AGGREGATION_TEMPORALITY_") ?? "unspecified"
              : undefined
          ),
          dataPoints: list(data, "dataPoints").map(dataPoint),
          resource,
          scope
        }]
      })
    })
  })

/** ExportLogsServiceRequest (camelCase object) to flat log records. */
export const flattenLogs = (request: Json): Array<ReceivedLog> =>
  list(request, "resourceLogs").flatMap((resourceLogs) => {
    const resource = attributes(list(get(resourceLogs, "resource"), "attributes"))
    return list(resourceLogs, "scopeLogs").flatMap((scopeLogs) => {
      const scope = String(get(get(scopeLogs, "scope"), "name") ?? "")
      return list(scopeLogs, "logRecords").map((record): ReceivedLog => {
        const severityNumber = get(record, "severityNumber")
        const body = get(record, "body")
        return {
          ...opt("timeUnixNano", toBigInt(get(record, "timeUnixNano"))),
          ...opt("observedTimeUnixNano", toBigInt(get(record, "observedTimeUnixNano"))),
          ...opt(
            "severityNumber",
            typeof severityNumber === "number" ? severityNumber : severityNumber === undefined ? undefined : severityOf(severityNumber)
          ),
          ...opt("severityText", get(record, "severityText") || undefined),
          ...opt("body", body === undefined || body === null ? undefined : anyValue(body)),
          attributes: attributes(list(record, "attributes")),
          ...opt("traceId", toHexId(get(record, "traceId"), 16)),
          ...opt("spanId", toHexId(get(record, "spanId"), 8)),
          ...opt("eventName", get(record, "eventName") || undefined),
          resource,
          scope
        }
      })
    })
  })

const severityNames = ["UNSPECIFIED", "TRACE", "TRACE2", "TRACE3", "TRACE4", "DEBUG", "DEBUG2", "DEBUG3", "DEBUG4", "INFO", "INFO2", "INFO3", "INFO4", "WARN", "WARN2", "WARN3", "WARN4", "ERROR", "ERROR2", "ERROR3", "ERROR4", "FATAL", "FATAL2", "FATAL3", "FATAL4"]
const severityOf = (value: Json): number | undefined => {
  const index = severityNames.indexOf(String(value).replace(/^SEVERITY_NUMBER_/, ""))
  return index < 0 ? undefined : index
}

// --- protobuf -------------------------------------------------------------------------------------------

/** The messages of opentelemetry-proto (common, resource, trace, metrics, logs, collector *Service requests). */
const otlpProto = `
syntax = "proto3";
package otlp;
message AnyValue { oneof value { string string_value = 1; bool bool_value = 2; int64 int_value = 3; double double_value = 4;
  ArrayValue array_value = 5; KeyValueList kvlist_value = 6; bytes bytes_value = 7; } }
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope { string name = 1; string version = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
message Resource { repeated KeyValue attributes = 1; uint32 dropped_attributes_count = 2; }

message ExportTraceServiceRequest { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
message ScopeSpans { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }
message Span {
  bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; bytes parent_span_id = 4; fixed32 flags = 16;
  string name = 5; int32 kind = 6; fixed64 start_time_unix_nano = 7; fixed64 end_time_unix_nano = 8;
  repeated KeyValue attributes = 9; uint32 dropped_attributes_count = 10;
  message Event { fixed64 time_unix_nano = 1; string name = 2; repeated KeyValue attributes = 3; uint32 dropped_attributes_count = 4; }
  repeated Event events = 11; uint32 dropped_events_count = 12;
  message Link { bytes trace_id = 1; bytes span_id = 2; string trace_state = 3; repeated KeyValue attributes = 4;
    uint32 dropped_attributes_count = 5; fixed32 flags = 6; }
  repeated Link links = 13; uint32 dropped_links_count = 14; Status status = 15;
}
message Status { string message = 2; int32 code = 3; }

message ExportMetricsServiceRequest { repeated ResourceMetrics resource_metrics = 1; }
message ResourceMetrics { Resource resource = 1; repeated ScopeMetrics scope_metrics = 2; string schema_url = 3; }
message ScopeMetrics { InstrumentationScope scope = 1; repeated Metric metrics = 2; string schema_url = 3; }
message Metric { string name = 1; string description = 2; string unit = 3;
  oneof data { Gauge gauge = 5; Sum sum = 7; Histogram histogram = 9; ExponentialHistogram exponential_histogram = 10; Summary summary = 11; }
  repeated KeyValue metadata = 12; }
message Gauge { repeated NumberDataPoint data_points = 1; }
message Sum { repeated NumberDataPoint data_points = 1; int32 aggregation_temporality = 2; bool is_monotonic = 3; }
message Histogram { repeated HistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message ExponentialHistogram { repeated ExponentialHistogramDataPoint data_points = 1; int32 aggregation_temporality = 2; }
message Summary { repeated SummaryDataPoint data_points = 1; }
message NumberDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  oneof value { double as_double = 4; sfixed64 as_int = 6; } uint32 flags = 8; }
message HistogramDataPoint { repeated KeyValue attributes = 9; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; optional double sum = 5; repeated fixed64 bucket_counts = 6; repeated double explicit_bounds = 7;
  uint32 flags = 10; optional double min = 11; optional double max = 12; }
message ExponentialHistogramDataPoint { repeated KeyValue attributes = 1; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; optional double sum = 5; sint32 scale = 6; fixed64 zero_count = 7; Buckets positive = 8; Buckets negative = 9;
  message Buckets { sint32 offset = 1; repeated uint64 bucket_counts = 2; }
  uint32 flags = 10; optional double min = 12; optional double max = 13; double zero_threshold = 14; }
message SummaryDataPoint { repeated KeyValue attributes = 7; fixed64 start_time_unix_nano = 2; fixed64 time_unix_nano = 3;
  fixed64 count = 4; double sum = 5;
  message ValueAtQuantile { double quantile = 1; double value = 2; }
  repeated ValueAtQuantile quantile_values = 6; uint32 flags = 8; }

message ExportLogsServiceRequest { repeated ResourceLogs resource_logs = 1; }
message ResourceLogs { Resource resource = 1; repeated ScopeLogs scope_logs = 2; string schema_url = 3; }
message ScopeLogs { InstrumentationScope scope = 1; repeated LogRecord log_records = 2; string schema_url = 3; }
message LogRecord { fixed64 time_unix_nano = 1; fixed64 observed_time_unix_nano = 11; int32 severity_number = 2;
  string severity_text = 3; AnyValue body = 5; repeated KeyValue attributes = 6; uint32 dropped_attributes_count = 7;
  fixed32 flags = 8; bytes trace_id = 9; bytes span_id = 10; string event_name = 12; }
`

type Decode = (bytes: Uint8Array) => Json

const requestTypes = {
  "/v1/traces": "otlp.ExportTraceServiceRequest",
  "/v1/metrics": "otlp.ExportMetricsServiceRequest",
  "/v1/logs": "otlp.ExportLogsServiceRequest"
} as const
type OtlpPath = keyof typeof requestTypes

/**
 * Protobuf decoders, or undefined when protobufjs is not installed (it is not a direct dependency: it
 * comes with testcontainers' dockerode), in which case protobuf bodies are answered 415.
 */
let protobufDecoders: Promise<Record<OtlpPath, Decode> | undefined> | undefined
const loadProtobuf = () =>
  (protobufDecoders ??= import("protobufjs").then(
    (module) => {
      const protobuf = module.default // CommonJS: module.exports
      const root = protobuf.parse(otlpProto, { keepCase: false }).root
      const decoder = (name: string): Decode => {
        const type = root.lookupType(name)
        // Ids as base64 strings, 64-bit integers as decimal strings: the shape flatten* expects.
        return (bytes) => type.toObject(type.decode(bytes), { longs: String, bytes: String, enums: Number, defaults: false, arrays: true })
      }
      return {
        "/v1/traces": decoder(requestTypes["/v1/traces"]),
        "/v1/metrics": decoder(requestTypes["/v1/metrics"]),
        "/v1/logs": decoder(requestTypes["/v1/logs"])
      }
    },
    () => undefined
  ))

// --- the server ---------------------------------------------------------------------------------------

const readBody = (request: IncomingMessage) =>
  new Promise<Buffer>((resolve, reject) => {
    const chunks: Array<Buffer> = []
    request.on("data", (chunk: Buffer) => chunks.push(chunk))
    request.on("end", () => resolve(Buffer.concat(chunks)))
    request.on("error", reject)
  })

const isOtlpPath = (path: string): path is OtlpPath => path in requestTypes

/** Starts the receiver on 127.0.0.1 (a free port); stopped when the scope closes. */
export const makeOtlpReceiver: Effect.Effect<OtlpReceiver, Error, Scope.Scope> = Effect.acquireRelease(
  Effect.async<{ readonly receiver: OtlpReceiver; readonly close: () => Promise<void> }, Error>((resume) => {
    let spans: Array<ReceivedSpan> = []
    let metrics: Array<ReceivedMetric> = []
    let logs: Array<ReceivedLog> = []
    let requests: Array<ReceivedRequest> = []
    let errors: Array<string> = []
    const listeners = new Set<() => void>()
    const notify = () => {
      for (const listener of [...listeners]) listener()
    }

    const handle = async (request: IncomingMessage, response: ServerResponse) => {
      const path = (request.url ?? "/").split("?")[0] ?? "/"
      const reply = (status: number, body: string | Uint8Array, contentType = "application/json") => {
        response.writeHead(status, { "content-type": contentType, "content-length": Buffer.byteLength(body) })
        response.end(body)
      }
      if (!isOtlpPath(path)) return reply(404, JSON.stringify({ message: `no such path: ${path}` }))
      if (request.method !== "POST") return reply(405, JSON.stringify({ message: "POST only" }))
      const raw = await readBody(request)
      const contentType = (request.headers["content-type"] ?? "").split(";")[0]!.trim().toLowerCase()
      const encoding = (request.headers["content-encoding"] ?? "").trim().toLowerCase()
      const kind = contentType === "application/json" ? "json" : contentType === "application/x-protobuf" ? "protobuf" : undefined
      if (kind === undefined) return reply(415, JSON.stringify({ message: `unsupported content-type: ${contentType}` }))
      try {
        const body = encoding === "gzip" ? gunzipSync(raw) : encoding === "deflate" ? inflateSync(raw) : encoding === "" || encoding === "identity" ? raw : undefined
        if (body === undefined) return reply(415, JSON.stringify({ message: `unsupported content-encoding: ${encoding}` }))
        let decoded: Json
        if (kind === "json") {
          decoded = JSON.parse(body.toString("utf8"))
        } else {
          const decoders = await loadProtobuf()
          if (decoders === undefined) return reply(415, JSON.stringify({ message: "protobuf not supported here (protobufjs missing)" }))
          decoded = decoders[path](body)
        }
        requests.push({
          path,
          contentType: kind,
          ...opt("contentEncoding", encoding || undefined),
          bytes: raw.length,
          ...opt("userAgent", request.headers["user-agent"])
        })
        if (path === "/v1/traces") spans.push(...flattenTraces(decoded))
        else if (path === "/v1/metrics") metrics.push(...flattenMetrics(decoded))
        else logs.push(...flattenLogs(decoded))
      } catch (error) {
        errors.push(`${path} (${kind}${encoding ? `, ${encoding}` : ""}): ${error instanceof Error ? error.message : String(error)}`)
        return reply(400, JSON.stringify({ message: `cannot decode body: ${String(error)}` }))
      }
      // An empty Export*ServiceResponse: no partialSuccess, i.e. everything accepted.
      if (kind === "json") reply(200, "{}")
      else reply(200, new Uint8Array(0), "application/x-protobuf")
      notify()
    }

    const server = createServer((request, response) => {
      handle(request, response).catch((error) => {
        errors.push(String(error))
        if (!response.headersSent) response.writeHead(500).end()
      })
    })
    server.keepAliveTimeout = 1_000

    // The timeout is a real timer, not Effect's Clock: under @effect/vitest's it.effect the TestClock
    // never advances by itself, and a wait for a span that never comes would hang until the test timeout.
    const waitFor = <A>(what: () => string, check: () => A | undefined, timeout: Duration.DurationInput) =>
      Effect.async<A, Error>((resume) => {
        let timer: ReturnType<typeof setTimeout> | undefined
        const stop = () => {
          listeners.delete(listener)
          if (timer !== undefined) clearTimeout(timer)
        }
        const listener = () => {
          const found = check()
          if (found !== undefined) {
            stop()
            resume(Effect.succeed(found))
          }
        }
        listeners.add(listener)
        listener()
        if (listeners.has(listener)) {
          const duration = Duration.decode(timeout)
          timer = setTimeout(() => {
            stop()
            resume(Effect.fail(new Error(`OTLP receiver: timed out after ${Duration.format(duration)} waiting for ${what()}`)))
          }, Duration.toMillis(duration))
        }
        return Effect.sync(stop)
      })

    const receiver: Omit<OtlpReceiver, "endpoint"> = {
      spans: () => spans,
      metrics: () => metrics,
      logs: () => logs,
      requests: () => requests,
      errors: () => errors,
      waitForSpans: (predicate, timeout = "10 seconds", atLeast = 1) =>
        waitFor(
          () =>
            `${atLeast} matching span(s); received ${spans.length}: ${[...new Set(spans.map((s) => s.name))].slice(0, 30).join(", ") || "none"}` +
            (errors.length > 0 ? `; decode errors: ${errors.join("; ")}` : ""),
          () => {
            const matching = spans.filter(predicate)
            return matching.length >= atLeast ? matching : undefined
          },
          timeout
        ),
      waitForMetric: (name, timeout = "10 seconds", predicate = () => true) =>
        waitFor(
          () =>
            `metric ${name}; received: ${[...new Set(metrics.map((m) => m.name))].slice(0, 30).join(", ") || "none"}` +
            (errors.length > 0 ? `; decode errors: ${errors.join("; ")}` : ""),
          () => metrics.findLast((m) => m.name === name && predicate(m)),
          timeout
        ),
      reset: () => {
        spans = []
        metrics = []
        logs = []
        requests = []
        errors = []
      }
    }

    const close = () =>
      new Promise<void>((done) => {
        server.close(() => done())
        server.closeAllConnections() // exporters keep connections alive
      })

    const onListenError = (error: Error) => resume(Effect.fail(new Error(`OTLP receiver cannot listen: ${error.message}`)))
    server.once("error", onListenError)
    server.listen(0, "127.0.0.1", () => {
      server.off("error", onListenError)
      const { port } = server.address() as AddressInfo
      resume(Effect.succeed({ receiver: { endpoint: `http://127.0.0.1:${port}`, ...receiver }, close }))
    })
    return Effect.promise(close) // interrupted before it listened
  }),
  ({ close }) => Effect.promise(close)
).pipe(Effect.map(({ receiver }) => receiver))
