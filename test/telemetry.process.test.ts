/**
 * The server process (`npm start`'s entry point) pointed at an OTLP/HTTP receiver
 * on loopback by the standard variables alone: its searches arrive as spans (a miss under
 * the request's span, an untraced cache hit as a root, a traced hit in the caller's trace),
 * and its search histogram arrives as a metric; GET /metrics serves the same histogram as Prometheus text, and GET /v1/stats counts the searches.
 *
 * This is the acceptance test of the wiring in layers/main.ts + layers/process.ts (Telemetry.layerConfig),
 * src/memory/Memory.ts (SearchStats.observe) and the observability endpoints.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeOtlpReceiver } from "./support/OtlpReceiver.ts"
import { request, startServer } from "./support/process.ts"

describe("telemetry of the server process", () => {
  it.scoped("exports spans and metrics to OTEL_EXPORTER_OTLP_ENDPOINT, and serves /metrics and /v1/stats", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver
      const server = yield* startServer({
        MEMORY_STORE: "memory",
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_SERVICE_NAME: "agent-memory-process",
        OTEL_BSP_SCHEDULE_DELAY: "100",
        OTEL_METRIC_EXPORT_INTERVAL: "300"
      })
      yield* request(`${server.url}/v1/memories`, { body: { content: "The cat sat on the mat", namespace: "otel" } })
      const search = { query: "where did the cat sit", namespace: "otel" }
      for (let i = 0; i < 3; i++) {
        const found = yield* request(`${server.url}/v1/search`, { body: search })
        expect(found.status).toBe(200)
      }
      // A caller's trace: the hit joins it through the HTTP stack (README, "Traces in Jaeger").
      const callerTrace = "4bf92f3577b34da6a3ce929d0e0e4736"
      const traced = yield* request(`${server.url}/v1/search`, {
        body: search,
        headers: { traceparent: `00-${callerTrace}-00f067aa0ba902b7-01` }
      })
      expect(traced.status).toBe(200)

      const spans = yield* receiver.waitForSpans((s) => s.name === "Memory.search", "15 seconds", 4)
      // The HTTP spans of the store, the miss and the traced hit (they may come in a later export).
      yield* receiver.waitForSpans((s) => s.kind === "server", "15 seconds", 3)
      expect(spans).toHaveLength(4)
      for (const span of spans) {
        expect(span.resource["service.name"]).toBe("agent-memory-process")
        expect(span.attributes).toMatchObject({ "memory.namespace": "otel", "memory.mode": "vector", "memory.store": "memory" })
      }
      const parentOf = (span: (typeof spans)[number]) => receiver.spans().find((s) => s.spanId === span.parentSpanId)
      const untraced = spans.filter((s) => s.traceId !== callerTrace)
      // The miss went through the HTTP stack; the untraced hits were answered before it, as roots.
      const misses = untraced.filter((s) => s.attributes["memory.cache_hit"] === false)
      expect(misses).toHaveLength(1)
      expect(parentOf(misses[0]!)?.kind).toBe("server")
      const hits = untraced.filter((s) => s !== misses[0])
      expect(hits).toHaveLength(2)
      for (const hit of hits) {
        expect(hit.attributes["memory.cache_hit"]).toBe(true)
        expect(hit.parentSpanId).toBeUndefined()
      }
      const joined = spans.find((s) => s.traceId === callerTrace)
      expect(joined?.attributes["memory.cache_hit"]).toBe(true)
      expect(parentOf(joined!)?.kind).toBe("server")
      const histogram = yield* receiver.waitForMetric("agent_memory_search_duration_seconds", "15 seconds", (m) =>
        m.dataPoints.reduce((n, p) => n + (p.count ?? 0), 0) >= 4)
      expect(histogram.resource["service.name"]).toBe("agent-memory-process")

      const metrics = yield* Effect.promise(() => fetch(`${server.url}/metrics`).then(async (r) => ({ type: r.headers.get("content-type"), text: await r.text() })))
      expect(metrics.type).toMatch(/^text\/plain/)
      expect(metrics.text).toMatch(/^agent_memory_search_duration_seconds_count\{mode="vector",cache="hit"\} 3$/m)
      const stats = yield* request(`${server.url}/v1/stats`)
      expect(stats.body).toMatchObject({ searches: 4, cacheHitRate: 0.75, errors: 0 })
    }), 120_000)
})
