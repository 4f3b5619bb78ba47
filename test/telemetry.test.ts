/**
 * Telemetry end to end: the real HTTP server with the memory stack, the
 * telemetry layer pointed at an OTLP/HTTP receiver on loopback, searches over
 * HTTP, and what the receiver gets: the span of every search with its
 * attributes and children (cache, embedding, store, SQL), and the metrics.
 * Also: the configuration from OTEL_* variables, and no exporter without an endpoint.
 */
import { Resource } from "@effect/opentelemetry"
import { NodeHttpServer } from "@effect/platform-node"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Duration, Effect, Layer, Option, Redacted } from "effect"
import * as Telemetry from "../otel/Telemetry.ts"
import * as AgentMemory from "../layers/app.ts"
import * as TieredCache from "../layers/cache/TieredCache.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as PgliteStore from "../layers/store/pglite/PgliteStore.ts"
import { HttpAppLive } from "../src/http/Server.ts"
import * as MeteredEmbedder from "../src/observability/MeteredEmbedder.ts"
import { SearchStats } from "../src/observability/SearchStats.ts"
import * as TracedCache from "../src/observability/TracedCache.ts"
import * as InstrumentedMemory from "./support/instrumentedMemory.ts"
import { post } from "./support/http.ts"
import { makeOtlpReceiver, type OtlpReceiver, type ReceivedSpan } from "./support/OtlpReceiver.ts"

/** The server over the default stack (pglite in RAM, local embedder), with the observability decorators. */
const serverLayer = (telemetry: Layer.Layer<never>) =>
  HttpAppLive.pipe(
    Layer.provide(InstrumentedMemory.layer),
    Layer.provide(SearchStats.Default),
    Layer.provide(
      AgentMemory.layer({
        embedder: MeteredEmbedder.layer.pipe(Layer.provide(HashingEmbedder.layer())),
        store: ({ dimensions }) => PgliteStore.layer({ dataDir: "memory://", dimensions }),
        cache: TracedCache.layer.pipe(Layer.provide(TieredCache.layer()))
      })
    ),
    Layer.provideMerge(NodeHttpServer.layerTest),
    Layer.provide(telemetry)
  )

const byId = (spans: ReadonlyArray<ReceivedSpan>) => new Map(spans.map((s) => [s.spanId, s]))

/** The names of a span's ancestors, nearest first. */
const ancestors = (span: ReceivedSpan, index: Map<string, ReceivedSpan>) => {
  const names: Array<string> = []
  let parent = span.parentSpanId === undefined ? undefined : index.get(span.parentSpanId)
  while (parent) {
    names.push(parent.name)
    parent = parent.parentSpanId === undefined ? undefined : index.get(parent.parentSpanId)
  }
  return names
}

const runSearches = (receiver: OtlpReceiver, protocol: Telemetry.OtlpProtocol) =>
  Effect.gen(function*() {
    const namespace = `otel-${protocol.replace("/", "-")}`
    for (const content of ["The cat sat on the mat", "Dogs chase cats in the garden", "Paris is the capital of France"]) {
      expect((yield* post("/v1/memories", { content, namespace })).status).toBe(201)
    }
    const search = (query: string) => post("/v1/search", { query, namespace, k: 2 })
    const first = yield* search("where did the cat sit")
    expect(first.status).toBe(200)
    expect(first.body.cached).toBe(false)
    const again = yield* search("where did the cat sit")
    expect(again.body.cached).toBe(true)
    yield* search("capital of France")
    return namespace
  }).pipe(
    Effect.provide(
      serverLayer(Telemetry.layer({
        serviceName: "agent-memory-test",
        serviceVersion: "0.0.0-test",
        traces: { url: `${receiver.endpoint}/v1/traces`, protocol, exportDelay: Duration.millis(100) },
        metrics: { url: `${receiver.endpoint}/v1/metrics`, protocol, exportInterval: Duration.millis(300) }
      }))
    )
  )

describe("telemetry", () => {
  for (const protocol of ["http/protobuf", "http/json"] as const) {
    it.scopedLive(`exports the span of every search, its children and the search metrics over OTLP (${protocol})`, () =>
      Effect.gen(function*() {
        const receiver = yield* makeOtlpReceiver
        const namespace = yield* runSearches(receiver, protocol)

        // Spans: one Memory.search per search, with the attributes a reader of the trace needs.
        const searches = yield* receiver.waitForSpans((s) => s.name === "Memory.search", "10 seconds", 3)
        expect(receiver.errors()).toEqual([])
        const all = receiver.spans()
        const index = byId(all)
        for (const span of searches) {
          expect(span.attributes).toMatchObject({
            "memory.namespace": namespace,
            "memory.k": 2,
            "memory.mode": "vector",
            "memory.store": "pglite"
          })
          expect(typeof span.attributes["memory.cache_hit"]).toBe("boolean")
          expect(span.attributes["memory.results"]).toBe(2)
          expect(span.resource["service.name"]).toBe("agent-memory-test")
          // Under the HTTP server's span of the request.
          const parent = span.parentSpanId === undefined ? undefined : index.get(span.parentSpanId)
          expect(parent?.kind).toBe("server")
          expect(parent?.traceId).toBe(span.traceId)
        }
        expect(searches.map((s) => s.attributes["memory.cache_hit"])).toEqual([false, true, false])

        // A miss: cache lookup → embedding → store → SQL, each the child of the one before (same trace).
        const miss = searches[0]!
        const inTrace = all.filter((s) => s.traceId === miss.traceId)
        const named = (name: string) => {
          const found = inTrace.filter((s) => s.name === name)
          expect(found.length, `${name} in the trace of the first search`).toBeGreaterThan(0)
          return found
        }
        const [lookup] = named("MemoryCache.searches")
        expect(lookup!.parentSpanId).toBe(miss.spanId)
        expect(lookup!.attributes["cache.hit"]).toBe(false)
        const [embed] = named("Embedder.embed")
        expect(ancestors(embed!, index)).toContain("Memory.search")
        expect(embed!.attributes["embedding.model"]).toBe("local-hash-v2")
        const [storeSearch] = named("MemoryStore.search")
        expect(storeSearch!.parentSpanId).toBe(lookup!.spanId)
        expect(storeSearch!.attributes["memory.store"]).toBe("pglite")
        const sql = named("sql.execute").filter((s) => s.parentSpanId === storeSearch!.spanId)
        expect(sql.length).toBeGreaterThan(0)
        expect(String(sql[0]!.attributes["db.query.text"] ?? sql[0]!.attributes["db.statement"])).toMatch(/FROM memories/)
        // A hit does no store or SQL work.
        const hit = searches[1]!
        expect(all.filter((s) => s.traceId === hit.traceId && s.name === "MemoryStore.search")).toEqual([])

        // Metrics: the search histogram, by mode and cache outcome, and the embedding counters.
        const histogram = yield* receiver.waitForMetric("agent_memory_search_duration_seconds", "10 seconds", (m) =>
          m.dataPoints.some((p) => p.attributes["cache"] === "hit" && (p.count ?? 0) >= 1) &&
          m.dataPoints.some((p) => p.attributes["cache"] === "miss" && (p.count ?? 0) >= 2))
        expect(histogram.type).toBe("histogram")
        expect(histogram.resource["service.name"]).toBe("agent-memory-test")
        for (const point of histogram.dataPoints) {
          expect(point.attributes["mode"]).toBe("vector")
          expect(point.bucketCounts?.reduce((a, b) => a + b, 0)).toBe(point.count)
          expect(point.sum).toBeGreaterThan(0)
        }
        const requests = yield* receiver.waitForMetric("agent_memory_embedding_requests_total", "10 seconds")
        expect(requests.type).toBe("sum")
        expect(requests.monotonic).toBe(true)
        expect(requests.dataPoints.find((p) => p.attributes["model"] === "local-hash-v2")?.value).toBeGreaterThanOrEqual(5)
      }))
  }

  describe("configuration from OTEL_* variables", () => {
    const load = (env: Record<string, string>) =>
      Effect.withConfigProvider(Telemetry.config, ConfigProvider.fromMap(new Map(Object.entries(env))))

    it.effect("no endpoint: nothing exported", () =>
      Effect.gen(function*() {
        const options = yield* load({})
        expect(options.traces).toBeUndefined()
        expect(options.metrics).toBeUndefined()
        expect(options.serviceName).toBe("agent-memory")
      }))

    it.effect("the base endpoint gets /v1/traces and /v1/metrics; signal endpoints win; headers stay redacted", () =>
      Effect.gen(function*() {
        const options = yield* load({
          OTEL_EXPORTER_OTLP_ENDPOINT: "http://jaeger:4318/",
          OTEL_EXPORTER_OTLP_METRICS_ENDPOINT: "http://collector:4318/custom/metrics",
          OTEL_EXPORTER_OTLP_HEADERS: "x-api-key=s3cret,x-tenant=a%20b",
          OTEL_SERVICE_NAME: "memory-eu",
          OTEL_EXPORTER_OTLP_PROTOCOL: "http/json",
          OTEL_METRIC_EXPORT_INTERVAL: "15000",
          OTEL_BSP_SCHEDULE_DELAY: "200"
        })
        expect(options.serviceName).toBe("memory-eu")
        expect(options.traces?.url).toBe("http://jaeger:4318/v1/traces")
        expect(options.traces?.protocol).toBe("http/json")
        expect(Duration.toMillis(Duration.decode(options.traces?.exportDelay ?? 0))).toBe(200)
        expect(options.metrics?.url).toBe("http://collector:4318/custom/metrics")
        expect(Duration.toMillis(Duration.decode(options.metrics?.exportInterval ?? 0))).toBe(15_000)
        expect(String(options.traces?.headers)).not.toContain("s3cret")
        expect(Telemetry.parseHeaders(Redacted.value(options.traces!.headers!))).toEqual({ "x-api-key": "s3cret", "x-tenant": "a b" })
      }))

    it.effect("OTEL_SDK_DISABLED and OTEL_*_EXPORTER=none turn export off; grpc is refused", () =>
      Effect.gen(function*() {
        const disabled = yield* load({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x:4318", OTEL_SDK_DISABLED: "true" })
        expect([disabled.traces, disabled.metrics]).toEqual([undefined, undefined])
        const tracesOnly = yield* load({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x:4318", OTEL_METRICS_EXPORTER: "none" })
        expect(tracesOnly.traces?.url).toBe("http://x:4318/v1/traces")
        expect(tracesOnly.traces?.protocol).toBe("http/protobuf")
        expect(tracesOnly.metrics).toBeUndefined()
        const grpc = yield* Effect.either(load({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://x:4317", OTEL_EXPORTER_OTLP_PROTOCOL: "grpc" }))
        expect(grpc._tag === "Left" && String(grpc.left)).toMatch(/OTEL_EXPORTER_OTLP_PROTOCOL/)
      }))

    it.effect("without an endpoint the layer installs nothing (no SDK, no resource, no tracer)", () =>
      Effect.gen(function*() {
        const resource = yield* Effect.serviceOption(Resource.Resource).pipe(
          Effect.provide(Telemetry.layerConfig()),
          Effect.withConfigProvider(ConfigProvider.fromMap(new Map()))
        )
        expect(Option.isNone(resource)).toBe(true)
        const tracer = yield* Effect.tracer.pipe(Effect.provide(Telemetry.layerConfig()), Effect.withConfigProvider(ConfigProvider.fromMap(new Map())))
        const native = yield* Effect.tracer
        expect(tracer).toBe(native)
      }))

    // With the tracer off, Effect.withSpan makes Effect's no-op span (spanId "noop"): nothing is recorded or exported.
    const spanMadeUnder = (telemetry: Layer.Layer<never, unknown>, env: Record<string, string>) =>
      Effect.currentSpan.pipe(
        Effect.withSpan("Memory.search"),
        Effect.map((span) => span.spanId !== "noop"),
        Effect.provide(telemetry),
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))
      )

    it.effect("a process without a traces target makes no spans; the library layer leaves an application's tracer on", () =>
      Effect.gen(function*() {
        // First: the tracer flag a layer sets stays set on the fiber it was provided on.
        expect(yield* spanMadeUnder(Telemetry.layerConfig(), {})).toBe(true)
        expect(yield* spanMadeUnder(Telemetry.processLayerConfig(), {})).toBe(false)
      }))

    it.effect("a process exporting metrics but not spans makes no spans", () =>
      Effect.gen(function*() {
        const receiver = yield* makeOtlpReceiver
        const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_TRACES_EXPORTER: "none" }
        expect(yield* spanMadeUnder(Telemetry.processLayerConfig(), env)).toBe(false)
      }).pipe(Effect.scoped))

    it.effect("a process with a traces target makes its spans", () =>
      Effect.gen(function*() {
        const receiver = yield* makeOtlpReceiver
        const env = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_METRICS_EXPORTER: "none", OTEL_BSP_SCHEDULE_DELAY: "50" }
        expect(yield* spanMadeUnder(Telemetry.processLayerConfig(), env)).toBe(true)
      }).pipe(Effect.scoped))
  })
})
