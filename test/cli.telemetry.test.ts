/**
 * The CLI process has the server's composition root: `agent-memory serve` and a
 * one-shot `agent-memory search` export their spans to OTEL_EXPORTER_OTLP_ENDPOINT,
 * and `agent-memory stats` finds the server at HOST/PORT.
 */
import { spawn } from "node:child_process"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeOtlpReceiver } from "./support/OtlpReceiver.ts"
import { freePort, request } from "./support/process.ts"

const bin = new URL("../bin/agent-memory.mjs", import.meta.url).pathname

const cli = (args: ReadonlyArray<string>, env: Record<string, string>) =>
  Effect.async<{ code: number | null; stdout: string; stderr: string }>((resume) => {
    const child = spawn(process.execPath, [bin, ...args], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
    let stdout = ""
    let stderr = ""
    child.stdout.on("data", (d) => (stdout += d))
    child.stderr.on("data", (d) => (stderr += d))
    child.on("exit", (code) => resume(Effect.succeed({ code, stdout, stderr })))
  })

const serve = (env: Record<string, string>) =>
  Effect.acquireRelease(
    Effect.async<{ readonly child: ReturnType<typeof spawn> }, Error>((resume) => {
      const child = spawn(process.execPath, [bin, "serve"], { env: { ...process.env, ...env }, stdio: ["ignore", "pipe", "pipe"] })
      let output = ""
      const onData = (d: Buffer) => {
        output += d
        if (output.includes("Listening on")) resume(Effect.succeed({ child }))
      }
      child.stdout.on("data", onData)
      child.stderr.on("data", onData)
      child.on("exit", (code) => resume(Effect.fail(new Error(`serve exited with ${code}:\n${output}`))))
    }),
    ({ child }) =>
      Effect.async<void>((resume) => {
        if (child.exitCode !== null) return resume(Effect.void)
        child.once("exit", () => resume(Effect.void))
        child.kill("SIGTERM")
      })
  )

describe("CLI telemetry and stats", () => {
  it.scopedLive("serve and search export spans; stats reads HOST/PORT", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver
      const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint, OTEL_BSP_SCHEDULE_DELAY: "100", OTEL_METRICS_EXPORTER: "none" }

      const search = yield* cli(["search", "anything", "--namespace", "cli-otel"], { ...otel, MEMORY_STORE: "memory", OTEL_SERVICE_NAME: "cli-search" })
      expect(search.code, search.stderr).toBe(0)
      const searched = yield* receiver.waitForSpans((s) => s.name === "Memory.search" && s.resource["service.name"] === "cli-search", "20 seconds")
      expect(searched[0]?.attributes).toMatchObject({ "memory.namespace": "cli-otel" })

      const port = yield* freePort
      yield* serve({ ...otel, MEMORY_STORE: "memory", OTEL_SERVICE_NAME: "cli-serve", HOST: "127.0.0.1", PORT: String(port) })
      const found = yield* request(`http://127.0.0.1:${port}/v1/search`, { body: { query: "where", namespace: "served" } })
      expect(found.status).toBe(200)
      const served = yield* receiver.waitForSpans((s) => s.name === "Memory.search" && s.resource["service.name"] === "cli-serve", "20 seconds")
      expect(served[0]?.attributes).toMatchObject({ "memory.namespace": "served" })

      const stats = yield* cli(["stats"], { HOST: "127.0.0.1", PORT: String(port) })
      expect(stats.code, stats.stderr).toBe(0)
      expect(JSON.parse(stats.stdout)).toMatchObject({ searches: 1 })

      const nobody = yield* freePort
      const refused = yield* cli(["stats"], { HOST: "0.0.0.0", PORT: String(nobody) })
      expect(refused.code).toBe(1)
      expect(refused.stderr.trim()).toMatch(new RegExp(`^agent-memory: StatsUnavailable: no statistics from http://127\\.0\\.0\\.1:${nobody}: fetch failed \\(.*ECONNREFUSED`))
    }), 240_000)
})
