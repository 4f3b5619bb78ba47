import { gzipSync } from "node:zlib"
import { FetchHttpClient, type HttpBody } from "@effect/platform"
import { Otlp, OtlpSerialization } from "@effect/opentelemetry"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, Metric, MetricBoundaries } from "effect"
import { makeOtlpReceiver, type ReceivedSpan } from "./support/OtlpReceiver.ts"

const traceId = "5b8efff798038103d269b633813fc60c"
const rootId = "eee19b7ec3c1b173"
const childId = "eee19b7ec3c1b174"
const hexToBase64 = (hex: string) => Buffer.from(hex, "hex").toString("base64")

const kv = (key: string, value: unknown) => ({ key, value })

/** An ExportTraceServiceRequest as @opentelemetry/exporter-trace-otlp-http sends it (OTLP/JSON: hex ids, string nanos). */
const traceRequest = (ids: (hex: string) => string = (hex) => hex) => ({
  resourceSpans: [{
    resource: {
      attributes: [
        kv("service.name", { stringValue: "agent-memory" }),
        kv("service.version", { stringValue: "0.1.0" }),
        kv("telemetry.sdk.language", { stringValue: "nodejs" })
      ],
      droppedAttributesCount: 0
    },
    scopeSpans: [{
      scope: { name: "agent-memory-http", version: "1.0.0" },
      spans: [
        {
          traceId: ids(traceId),
          spanId: ids(rootId),
          traceState: "",
          name: "POST /v1/search",
          kind: 2,
          startTimeUnixNano: "1700000000000000001",
          endTimeUnixNano: "1700000000123456789",
          attributes: [
            kv("http.request.method", { stringValue: "POST" }),
            kv("http.response.status_code", { intValue: 200 }),
            kv("search.k", { intValue: "3" }),
            kv("cache.hit", { boolValue: false }),
            kv("search.score", { doubleValue: 0.87 }),
            kv("search.tags", { arrayValue: { values: [{ stringValue: "a" }, { stringValue: "b" }] } }),
            kv("search.filter", { kvlistValue: { values: [kv("namespace", { stringValue: "ns" }), kv("limit", { intValue: 5 })] } })
          ],
          droppedAttributesCount: 0,
          events: [{ timeUnixNano: "1700000000000500000", name: "cache miss", attributes: [kv("cache.key", { stringValue: "k1" })], droppedAttributesCount: 0 }],
          droppedEventsCount: 0,
          status: { code: 0 },
          links: [],
          droppedLinksCount: 0
        },
        {
          traceId: ids(traceId),
          spanId: ids(childId),
          parentSpanId: ids(rootId),
          name: "MemoryStore.search",
          kind: 3,
          startTimeUnixNano: "1700000000000100000",
          endTimeUnixNano: "1700000000100000000",
          attributes: [kv("db.system", { stringValue: "postgresql" })],
          droppedAttributesCount: 0,
          events: [],
          droppedEventsCount: 0,
          status: { code: 2, message: "connection reset" },
          links: [{ traceId: ids(traceId), spanId: ids(rootId), attributes: [], droppedAttributesCount: 0 }],
          droppedLinksCount: 0
        }
      ]
    }]
  }]
})

const expectedSpans: ReadonlyArray<ReceivedSpan> = [
  {
    traceId,
    spanId: rootId,
    name: "POST /v1/search",
    kind: "server",
    startTimeUnixNano: 1700000000000000001n,
    endTimeUnixNano: 1700000000123456789n,
    attributes: {
      "http.request.method": "POST",
      "http.response.status_code": 200,
      "search.k": 3,
      "cache.hit": false,
      "search.score": 0.87,
      "search.tags": ["a", "b"],
      "search.filter": { namespace: "ns", limit: 5 }
    },
    events: [{ name: "cache miss", timeUnixNano: 1700000000000500000n, attributes: { "cache.key": "k1" } }],
    links: [],
    status: { code: "unset" },
    resource: { "service.name": "agent-memory", "service.version": "0.1.0", "telemetry.sdk.language": "nodejs" },
    scope: "agent-memory-http",
    scopeVersion: "1.0.0"
  },
  {
    traceId,
    spanId: childId,
    parentSpanId: rootId,
    name: "MemoryStore.search",
    kind: "client",
    startTimeUnixNano: 1700000000000100000n,
    endTimeUnixNano: 1700000000100000000n,
    attributes: { "db.system": "postgresql" },
    events: [],
    links: [{ traceId, spanId: rootId, attributes: {} }],
    status: { code: "error", message: "connection reset" },
    resource: { "service.name": "agent-memory", "service.version": "0.1.0", "telemetry.sdk.language": "nodejs" },
    scope: "agent-memory-http",
    scopeVersion: "1.0.0"
  }
]

/** An ExportMetricsServiceRequest with a sum, a gauge and a histogram, as exporter-metrics-otlp-http sends it. */
const metricsRequest = {
  resourceMetrics: [{
    resource: { attributes: [kv("service.name", { stringValue: "agent-memory" })], droppedAttributesCount: 0 },
    scopeMetrics: [{
      scope: { name: "agent-memory", version: "" },
      metrics: [
        {
          name: "memories.stored",
          description: "Memories stored",
          unit: "{memory}",
          sum: {
            aggregationTemporality: 2,
            isMonotonic: true,
            dataPoints: [
              { attributes: [kv("namespace", { stringValue: "a" })], startTimeUnixNano: "1700000000000000000", timeUnixNano: "1700000010000000000", asInt: "5" },
              { attributes: [kv("namespace", { stringValue: "b" })], startTimeUnixNano: "1700000000000000000", timeUnixNano: "1700000010000000000", asInt: 2 }
            ]
          }
        },
        {
          name: "cache.hit_ratio",
          description: "",
          unit: "1",
          gauge: { dataPoints: [{ attributes: [], startTimeUnixNano: "1700000000000000000", timeUnixNano: "1700000010000000000", asDouble: 0.25 }] }
        },
        {
          name: "search.duration",
          description: "Search latency",
          unit: "ms",
          histogram: {
            aggregationTemporality: 1,
            dataPoints: [{
              attributes: [kv("store", { stringValue: "pgvector" })],
              startTimeUnixNano: "1700000000000000000",
              timeUnixNano: "1700000010000000000",
              count: "4",
              sum: 38.5,
              min: 1.5,
              max: 20,
              bucketCounts: ["1", "2", "1"],
              explicitBounds: [5, 10]
            }]
          }
        }
      ]
    }]
  }]
}

const post = (url: string, body: unknown, options: { gzip?: boolean; contentType?: string; method?: string } = {}) =>
  Effect.promise(async () => {
    const json = body instanceof Uint8Array ? body : Buffer.from(typeof body === "string" ? body : JSON.stringify(body))
    const response = await fetch(url, {
      method: options.method ?? "POST",
      headers: {
        "content-type": options.contentType ?? "application/json",
        ...(options.gzip ? { "content-encoding": "gzip" } : {})
      },
      ...(options.method === "GET" ? {} : { body: options.gzip ? gzipSync(json) : json })
    })
    return { status: response.status, body: await response.text() }
  })

const bodyBytes = (body: HttpBody.HttpBody) => {
  if (body._tag !== "Uint8Array") throw new Error(`unexpected body ${body._tag}`)
  return body.body
}

describe("OtlpReceiver", () => {
  it.effect("flattens an OTLP/JSON trace export (hex ids, as the JS exporter sends) and answers {}", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver
      expect(receiver.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/)
      const response = yield* post(`${receiver.endpoint}/v1/traces`, traceRequest())
      expect(response).toEqual({ status: 200, body: "{}" })
      expect(receiver.spans()).toEqual(expectedSpans)
      expect(receiver.requests()).toEqual([{ path: "/v1/traces", contentType: "json", bytes: expect.any(Number), userAgent: expect.any(String) }])
    }).pipe(Effect.scoped))

  it.effect("accepts gzip, base64 ids (protobuf JSON mapping) and snake_case field names", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver
      expect((yield* post(`${receiver.endpoint}/v1/traces`, traceRequest(), { gzip: true })).status).toBe(200)
      expect((yield* post(`${receiver.endpoint}/v1/traces`, traceRequest(hexToBase64), { gzip: true })).status).toBe(200)
      const snake = JSON.stringify(traceRequest()).replace(/"([a-z]+[A-Z][A-Za-z]*)":/g, (_, key: string) => `"${key.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`)}":`)
      expect(snake).toContain('"resource_spans"')
      expect((yield* post(`${receiver.endpoint}/v1/traces`, snake)).status).toBe(200)
      expect(receiver.spans()).toEqual([...expectedSpans, ...expectedSpans, ...expectedSpans])
      expect(receiver.requests().map((r) => r.contentEncoding)).toEqual(["gzip", "gzip", undefined])
      receiver.reset()
      expect(receiver.spans()).toEqual([])
    }).pipe(Effect.scoped))

  it.effect("flattens a sum, a gauge and a histogram", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver
      expect(yield* post(`${receiver.endpoint}/v1/metrics`, metricsRequest, { gzip: true })).toEqual({ status: 200, body: "{}" })
      const resource = { "service.name": "agent-memory" }
      expect(receiver.metrics()).toEqual([
        {
          name: "memories.stored",
          description: "Memories stored",
          unit: "{memory}",
          type: "sum",
          monotonic: true,
          temporality: "cumulative",
          dataPoints: [
            { attributes: { namespace: "a" }, startTimeUnixNano: 1700000000000000000n, timeUnixNano: 1700000010000000000n, value: 5 },
            { attributes: { namespace: "b" }, startTimeUnixNano: 1700000000000000000n, timeUnixNano: 1700000010000000000n, value: 2 }
          ],
          resource,
          scope: "agent-memory"
        },
        {
          name: "cache.hit_ratio",
          description: "",
          unit: "1",
          type: "gauge",
          dataPoints: [{ attributes: {}, startTimeUnixNano: 1700000000000000000n, timeUnixNano: 1700000010000000000n, value: 0.25 }],
          resource,
          scope: "agent-memory"
        },
        {
          name: "search.duration",
          description: "Search latency",
          unit: "ms",
          type: "histogram",
          temporality: "delta",
          dataPoints: [{
            attributes: { store: "pgvector" },
            startTimeUnixNano: 1700000000000000000n,
            timeUnixNano: 1700000010000000000n,
            count: 4,
            sum: 38.5,
            min: 1.5,
            max: 20,
            bucketCounts: [1, 2, 1],
            explicitBounds: [5, 10]
          }],
          resource,
          scope: "agent-memory"
        }
      ])
      const histogram = yield* receiver.waitForMetric("search.duration", "1 second")
      expect(histogram.dataPoints[0]?.count).toBe(4)
    }).pipe(Effect.scoped))

  it.effect("decodes OTLP protobuf (as encoded by @effect/opentelemetry's serializer), plain and gzip, to the same result", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver
      const protobuf = yield* OtlpSerialization.OtlpSerialization
      const traces = bodyBytes(protobuf.traces(traceRequest()))
      const response = yield* post(`${receiver.endpoint}/v1/traces`, traces, { contentType: "application/x-protobuf" })
      expect(response).toEqual({ status: 200, body: "" }) // an empty ExportTraceServiceResponse
      expect((yield* post(`${receiver.endpoint}/v1/traces`, traces, { contentType: "application/x-protobuf", gzip: true })).status).toBe(200)
      expect(receiver.spans()).toEqual([...expectedSpans, ...expectedSpans]) // nanosecond precision kept
      const metrics = bodyBytes(protobuf.metrics(metricsRequest))
      expect((yield* post(`${receiver.endpoint}/v1/metrics`, metrics, { contentType: "application/x-protobuf", gzip: true })).status).toBe(200)
      expect(receiver.metrics().map((m) => [m.name, m.type, m.dataPoints.map((p) => p.value ?? p.bucketCounts)])).toEqual([
        ["memories.stored", "sum", [5, 2]],
        ["cache.hit_ratio", "gauge", [0.25]],
        ["search.duration", "histogram", [[1, 2, 1]]]
      ])
      expect(receiver.metrics()[2]?.dataPoints[0]).toMatchObject({ count: 4, sum: 38.5, min: 1.5, max: 20, explicitBounds: [5, 10] })
      expect(receiver.requests().map((r) => [r.contentType, r.contentEncoding])).toEqual([
        ["protobuf", undefined],
        ["protobuf", "gzip"],
        ["protobuf", "gzip"]
      ])
    }).pipe(Effect.scoped, Effect.provide(OtlpSerialization.layerProtobuf)))

  it.effect("flattens logs", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver
      const logs = {
        resourceLogs: [{
          resource: { attributes: [kv("service.name", { stringValue: "agent-memory" })] },
          scopeLogs: [{
            scope: { name: "agent-memory" },
            logRecords: [{
              timeUnixNano: "1700000000000000000",
              severityNumber: 13,
              severityText: "WARN",
              body: { stringValue: "embedding cache full" },
              attributes: [kv("cache.size", { intValue: "1000" })],
              traceId,
              spanId: rootId
            }]
          }]
        }]
      }
      expect((yield* post(`${receiver.endpoint}/v1/logs`, logs)).status).toBe(200)
      expect(receiver.logs()).toEqual([{
        timeUnixNano: 1700000000000000000n,
        severityNumber: 13,
        severityText: "WARN",
        body: "embedding cache full",
        attributes: { "cache.size": 1000 },
        traceId,
        spanId: rootId,
        resource: { "service.name": "agent-memory" },
        scope: "agent-memory"
      }])
    }).pipe(Effect.scoped))

  it.effect("answers 404, 405, 415 and 400 for what it cannot take, recording decode errors", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver
      expect((yield* post(`${receiver.endpoint}/v1/profiles`, {})).status).toBe(404)
      expect((yield* post(`${receiver.endpoint}/v1/traces`, {}, { method: "GET" })).status).toBe(405)
      expect((yield* post(`${receiver.endpoint}/v1/traces`, "x", { contentType: "text/plain" })).status).toBe(415)
      expect((yield* post(`${receiver.endpoint}/v1/traces`, "{not json")).status).toBe(400)
      expect(receiver.errors()).toHaveLength(1)
      expect(receiver.spans()).toEqual([])
    }).pipe(Effect.scoped))

  // it.effect would run on the TestClock (the sleep below would never end); the receiver's own timeouts use real timers anyway.
  it.live("waitForSpans waits for spans that arrive later, and fails naming what did arrive", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver
      const waiting = yield* Effect.fork(receiver.waitForSpans((span) => span.traceId === traceId, "5 seconds", 2))
      yield* Effect.sleep("50 millis")
      yield* post(`${receiver.endpoint}/v1/traces`, traceRequest())
      const spans = yield* waiting.await.pipe(Effect.flatten)
      expect(spans.map((s) => s.name)).toEqual(["POST /v1/search", "MemoryStore.search"])
      const error = yield* Effect.flip(receiver.waitForSpans((span) => span.name === "never", "100 millis"))
      expect(error.message).toMatch(/timed out after .* waiting for 1 matching span\(s\); received 2: POST \/v1\/search, MemoryStore.search/)
      const metricError = yield* Effect.flip(receiver.waitForMetric("nope", "50 millis"))
      expect(metricError.message).toContain("metric nope")
    }).pipe(Effect.scoped))

  // The real client of the project: @effect/opentelemetry's OTLP exporters (JSON and protobuf).
  for (const serialization of ["json", "protobuf"] as const) {
    // Effect's linear({ count: 3 }) is [10, 20, +Infinity]; the exporter drops +Infinity. it.live: the exporters' export intervals and span timestamps use Effect's Clock.
    it.live(`receives what @effect/opentelemetry's Otlp.layer exports (${serialization})`, () =>
      Effect.gen(function*() {
        const receiver = yield* makeOtlpReceiver
        const options = {
          baseUrl: receiver.endpoint,
          resource: { serviceName: "otlp-receiver-test", serviceVersion: "9.9.9", attributes: { "deployment.environment": "test" } },
          tracerExportInterval: "50 millis",
          metricsExportInterval: "50 millis",
          loggerExportInterval: "50 millis",
          replaceLogger: Logger.defaultLogger // logs go to the receiver instead of the console
        } as const
        const otlp = (serialization === "json" ? Otlp.layerJson(options) : Otlp.layerProtobuf(options)).pipe(Layer.provide(FetchHttpClient.layer))
        const counter = Metric.counter(`otlp_test_${serialization}_requests`, { description: "requests", incremental: true })
        const latency = Metric.histogram(`otlp_test_${serialization}_latency`, MetricBoundaries.linear({ start: 10, width: 10, count: 3 }))
        const program = Effect.gen(function*() {
          yield* Metric.increment(counter).pipe(Effect.tagMetrics("route", "/v1/search"), Effect.repeatN(2))
          yield* Metric.update(latency, 15)
          yield* Metric.update(latency, 25)
          yield* Effect.logWarning("about to search").pipe(Effect.annotateLogs("k", 3))
          yield* Effect.annotateCurrentSpan("search.k", 3)
          yield* Effect.fail(new Error("store down")).pipe(Effect.withSpan("MemoryStore.search", { kind: "client", attributes: { "db.system": "postgresql" } }), Effect.ignore)
        }).pipe(Effect.withSpan("POST /v1/search", { kind: "server", attributes: { "http.request.method": "POST", big: 1n << 40n } }))
        // Providing the layer scopes it to the program: closing it flushes every exporter.
        yield* program.pipe(Effect.provide(otlp))

        const [root] = yield* receiver.waitForSpans((s) => s.name === "POST /v1/search", "5 seconds")
        const [child] = yield* receiver.waitForSpans((s) => s.name === "MemoryStore.search", "5 seconds")
        expect(root).toMatchObject({
          kind: "server",
          attributes: { "http.request.method": "POST", "search.k": 3 },
          status: { code: "ok" },
          resource: { "service.name": "otlp-receiver-test", "service.version": "9.9.9", "deployment.environment": "test" },
          scope: "otlp-receiver-test"
        })
        expect(root!.traceId).toMatch(/^[0-9a-f]{32}$/)
        expect(root!.spanId).toMatch(/^[0-9a-f]{16}$/)
        expect(root!.parentSpanId).toBeUndefined()
        expect(root!.endTimeUnixNano).toBeGreaterThan(root!.startTimeUnixNano)
        expect(root!.startTimeUnixNano).toBeGreaterThan(BigInt(Date.now() - 60_000) * 1_000_000n)
        expect(child).toMatchObject({ traceId: root!.traceId, parentSpanId: root!.spanId, kind: "client", status: { code: "error", message: "store down" } })
        expect(child!.events.map((e) => e.name)).toContain("exception")

        const requests = yield* receiver.waitForMetric(`otlp_test_${serialization}_requests`, "5 seconds")
        expect(requests).toMatchObject({ type: "sum", monotonic: true, temporality: "cumulative", description: "requests" })
        expect(requests.dataPoints).toEqual([expect.objectContaining({ attributes: { route: "/v1/search" }, value: 3 })])
        const histogram = yield* receiver.waitForMetric(`otlp_test_${serialization}_latency`, "5 seconds")
        expect(histogram.type).toBe("histogram")
        expect(histogram.dataPoints[0]).toMatchObject({ count: 2, sum: 40, min: 15, max: 25, explicitBounds: [10, 20], bucketCounts: [0, 1, 1] })

        expect(receiver.logs()).toContainEqual(expect.objectContaining({ severityText: "WARN", body: "about to search", attributes: expect.objectContaining({ k: 3 }) }))
        expect(new Set(receiver.requests().map((r) => r.contentType))).toEqual(new Set([serialization]))
        expect(receiver.errors()).toEqual([])
      }).pipe(Effect.scoped))
  }
})
