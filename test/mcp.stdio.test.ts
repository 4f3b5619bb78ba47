/**
 * `agent-memory mcp` as desktop clients run it: a real process spawned by the
 * SDK's own stdio client transport, over the configured stack (MEMORY_STORE=memory),
 * exporting its tool spans to an OTLP receiver like every other command. Also
 * `npx agent-memory mcp` from the repository: initialize and tools/list answer.
 */
import { fileURLToPath } from "node:url"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StdioClientTransport } from "@modelcontextprotocol/sdk/client/stdio.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { makeOtlpReceiver } from "./support/OtlpReceiver.ts"

const root = fileURLToPath(new URL("..", import.meta.url))
const bin = fileURLToPath(new URL("../bin/agent-memory.mjs", import.meta.url))

/** Only what the process needs: a desktop client passes no more than its `env`. */
const baseEnv = { PATH: process.env["PATH"] ?? "", HOME: process.env["HOME"] ?? "/tmp", MEMORY_STORE: "memory" }

interface Spawned {
  readonly client: Client
  readonly transport: StdioClientTransport
  readonly stderr: () => string
}

/** Spawns the server through the SDK's stdio transport and connects (initialize); closed with the scope. */
const spawnClient = (command: string, args: Array<string>, env: Record<string, string> = {}) =>
  Effect.acquireRelease(
    Effect.promise(async (): Promise<Spawned> => {
      const transport = new StdioClientTransport({ command, args, cwd: root, env: { ...baseEnv, ...env }, stderr: "pipe" })
      let stderr = ""
      transport.stderr?.on("data", (d) => (stderr += d))
      const client = new Client({ name: "mcp-stdio-test", version: "1.0.0" })
      await client.connect(transport, { timeout: 90_000 })
      return { client, transport, stderr: () => stderr }
    }),
    ({ client }) => Effect.promise(() => client.close())
  )

const call = (client: Client, name: string, args: Record<string, unknown>) =>
  Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<CallToolResult>)

const structured = (result: CallToolResult) => {
  expect(result.isError ?? false, JSON.stringify(result.content)).toBe(false)
  return result.structuredContent as Record<string, any>
}

describe("agent-memory mcp (stdio)", () => {
  it.scoped("remember → search finds it → get_context cites it → forget removes it; a bad argument is a tool error; spans are exported", () =>
    Effect.gen(function*() {
      const receiver = yield* makeOtlpReceiver
      const { client, stderr } = yield* spawnClient(process.execPath, [bin, "mcp"], {
        OTEL_EXPORTER_OTLP_ENDPOINT: receiver.endpoint,
        OTEL_SERVICE_NAME: "agent-memory-mcp",
        OTEL_BSP_SCHEDULE_DELAY: "100"
      })
      expect(client.getServerVersion()).toMatchObject({ name: "agent-memory" })
      expect(client.getInstructions()).toContain("get_context")
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((t) => t.name)).toContain("remember")
      expect(tools).toHaveLength(9)

      const stored = structured(yield* call(client, "remember", {
        content: "The deploy key for staging lives in the team vault under ops/staging",
        kind: "knowledge",
        namespace: "stdio"
      }))
      const found = structured(yield* call(client, "search", { query: "where is the staging deploy key", namespace: "stdio" }))
      expect(found["hits"][0]).toMatchObject({ id: stored["id"] })
      const context = structured(yield* call(client, "get_context", { query: "where is the staging deploy key", namespace: "stdio" }))
      expect(context["sources"]).toEqual([expect.objectContaining({ ref: 1, id: stored["id"] })])
      expect(context["text"]).toContain("team vault")
      expect(structured(yield* call(client, "forget", { id: stored["id"], namespace: "stdio" }))).toEqual({ deleted: 1 })
      expect(structured(yield* call(client, "search", { query: "where is the staging deploy key", namespace: "stdio" }))["hits"]).toEqual([])

      const bad = yield* call(client, "search", { query: "x", mode: "fuzzy" })
      expect(bad.isError).toBe(true)
      expect(JSON.parse((bad.content[0] as { text: string }).text)).toMatchObject({ _tag: "InvalidInput", message: expect.stringContaining("mode") })
      // The session survived it.
      expect(structured(yield* call(client, "kv_set", { key: "alive", value: true }))["value"]).toBe(true)

      const spans = yield* receiver.waitForSpans((s) => s.name === "mcp.tool", "20 seconds", 7)
      expect(spans[0]!.resource["service.name"]).toBe("agent-memory-mcp")
      expect(spans.map((s) => s.attributes["mcp.tool.name"])).toEqual(
        expect.arrayContaining(["remember", "search", "get_context", "forget", "kv_set"])
      )
      expect(spans.find((s) => s.attributes["mcp.tool.name"] === "remember")!.attributes).toMatchObject({
        "memory.namespace": "stdio",
        "mcp.tool.outcome": "ok"
      })
      // The protocol stream stayed clean: nothing but log lines went to stderr.
      expect(stderr()).not.toContain("jsonrpc")
    }), 180_000)

  it.scoped("the process ends when the client closes its stdin", () =>
    Effect.gen(function*() {
      const { client, transport } = yield* spawnClient(process.execPath, [bin, "mcp"])
      const pid = transport.pid!
      const started = performance.now()
      yield* Effect.promise(() => client.close())
      // The SDK's client waits 2 s for the process to exit on its own before it sends SIGTERM.
      expect(performance.now() - started).toBeLessThan(1900)
      expect(() => process.kill(pid, 0)).toThrow()
    }), 120_000)

  it.scoped("npx agent-memory mcp answers initialize and tools/list", () =>
    Effect.gen(function*() {
      // npx links the repository's own package into its cache to run its bin. --ignore-scripts keeps
      // that link from running `prepare` (a full build of dist/) under the rest of the suite; the
      // command that runs is the same.
      const { client } = yield* spawnClient("npx", ["--ignore-scripts", "agent-memory", "mcp"], {
        npm_config_cache: process.env["npm_config_cache"] ?? `${baseEnv.HOME}/.npm`
      })
      expect(client.getServerVersion()?.name).toBe("agent-memory")
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((t) => t.name).sort()).toEqual([
        "add_message",
        "forget",
        "get_context",
        "get_history",
        "ingest_document",
        "kv_get",
        "kv_set",
        "remember",
        "search"
      ])
    }), 180_000)
})
