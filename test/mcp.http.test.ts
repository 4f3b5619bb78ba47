/**
 * POST /mcp on the real HTTP server (the server's own layers, on a free loopback
 * port), reached by the SDK's own Streamable HTTP client: the tools end to end,
 * tool errors, and the API keys: no key is 401, a key reaches only its
 * namespaces, and the edge's checks hold for /mcp as for /v1.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { StreamableHTTPClientTransport } from "@modelcontextprotocol/sdk/client/streamableHttp.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { HttpServer } from "@effect/platform"
import { expect, layer } from "@effect/vitest"
import { Effect } from "effect"
import { memoryUri } from "../src/mcp/McpResources.ts"
import { serverLayerWith } from "./support/http.ts"

const ACME = "sk-acme-0123456789abcdef"
const GLOBEX = "sk-globex-0123456789abcdef"
const dir = mkdtempSync(join(tmpdir(), "agent-memory-mcp-keys-"))
const keysFile = join(dir, "keys.json")
writeFileSync(keysFile, JSON.stringify({ [ACME]: ["acme"], [GLOBEX]: "globex" }))

const mcpUrl = Effect.map(HttpServer.HttpServer, (server) => {
  const address = server.address as HttpServer.TcpAddress
  return new URL(`http://127.0.0.1:${address.port}/mcp`)
})

/** An SDK client connected (initialize) to /mcp, with `key` as its bearer; closed with the scope. */
const connect = (key?: string) =>
  Effect.flatMap(mcpUrl, (url) =>
    Effect.acquireRelease(
      Effect.promise(async () => {
        const transport = new StreamableHTTPClientTransport(url, {
          requestInit: key === undefined ? {} : { headers: { authorization: `Bearer ${key}` } }
        })
        const client = new Client({ name: "mcp-http-test", version: "1.0.0" })
        await client.connect(transport)
        return client
      }),
      (client) => Effect.promise(() => client.close())
    ))

const call = (client: Client, name: string, args: Record<string, unknown>) =>
  Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<CallToolResult>)

const structured = (result: CallToolResult) => {
  expect(result.isError ?? false, JSON.stringify(result.content)).toBe(false)
  return result.structuredContent as Record<string, any>
}

const toolError = (result: CallToolResult) => {
  expect(result.isError).toBe(true)
  return JSON.parse((result.content[0] as { text: string }).text) as { _tag: string; message: string }
}

/** A raw POST to /mcp, for what the SDK client never sends. */
const raw = (init: { readonly headers?: Record<string, string>; readonly body?: string; readonly method?: string }) =>
  Effect.flatMap(mcpUrl, (url) =>
    Effect.promise(async () => {
      const response = await fetch(url, {
        method: init.method ?? "POST",
        headers: { "content-type": "application/json", accept: "application/json, text/event-stream", ...init.headers },
        ...(init.body === undefined ? {} : { body: init.body })
      })
      const text = await response.text()
      return { status: response.status, headers: response.headers, body: text ? JSON.parse(text) : undefined }
    }))

const initialize = JSON.stringify({
  jsonrpc: "2.0",
  id: 1,
  method: "initialize",
  params: { protocolVersion: "2025-06-18", capabilities: {}, clientInfo: { name: "raw", version: "1" } }
})

// A small body bound, to see /mcp keep it both ways (declared and chunked) without megabytes of test traffic.
const MAX_BODY = 64 * 1024

layer(serverLayerWith({ MEMORY_MAX_BODY: String(MAX_BODY) }), { timeout: 60_000 })("POST /mcp without API keys", (it) => {
  it.scoped("list tools, remember → search finds it → get_context cites it → forget removes it; a bad argument is a tool error", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools).toHaveLength(9)
      const stored = structured(yield* call(client, "remember", {
        content: "Quarterly planning moved to the second Tuesday of each quarter",
        kind: "knowledge",
        namespace: "http"
      }))
      const query = "when is quarterly planning"
      expect(structured(yield* call(client, "search", { query, namespace: "http" }))["hits"][0]).toMatchObject({ id: stored["id"] })
      const context = structured(yield* call(client, "get_context", { query, namespace: "http" }))
      expect(context["sources"][0]).toMatchObject({ ref: 1, id: stored["id"] })
      expect(structured(yield* call(client, "forget", { id: stored["id"], namespace: "http" }))).toEqual({ deleted: 1 })
      expect(structured(yield* call(client, "search", { query, namespace: "http" }))["hits"]).toEqual([])
      expect(toolError(yield* call(client, "remember", { content: "" }))).toMatchObject({
        _tag: "InvalidInput",
        message: expect.stringContaining("content")
      })
      // Each request is answered as JSON by a fresh server: nothing to stream, no session id.
      const answered = yield* raw({ body: initialize })
      expect(answered.status).toBe(200)
      expect(answered.headers.get("content-type")).toContain("application/json")
      expect(answered.headers.get("mcp-session-id")).toBeNull()
      expect(answered.body.result.serverInfo).toMatchObject({ name: "agent-memory" })
    }))

  it.effect("the edge holds for /mcp: GET is 405, a body over MEMORY_MAX_BODY is 413, another Content-Type is 415, a foreign Origin 403", () =>
    Effect.gen(function*() {
      const get = yield* raw({ method: "GET", headers: { accept: "text/event-stream" } })
      expect(get.status).toBe(405)
      expect(get.headers.get("allow")).toBe("POST")
      const big = yield* raw({ body: JSON.stringify({ jsonrpc: "2.0", id: 1, method: "ping", params: { pad: "x".repeat(MAX_BODY) } }) })
      expect(big.status).toBe(413)
      // Without a Content-Length (chunked), the SDK transport stops reading at the same bound.
      const chunked = yield* Effect.flatMap(mcpUrl, (url) =>
        Effect.promise(() => {
          const chunk = new TextEncoder().encode(" ".repeat(MAX_BODY / 2 + 1))
          let sent = 0
          const body = new ReadableStream<Uint8Array>({
            pull: (controller) => (sent++ < 2 ? controller.enqueue(chunk) : controller.close())
          })
          return fetch(url, {
            method: "POST",
            headers: { "content-type": "application/json", accept: "application/json, text/event-stream" },
            body,
            duplex: "half"
          } as RequestInit).then((r) => r.status)
        }))
      expect(chunked).toBe(413)
      expect((yield* raw({ body: initialize, headers: { "content-type": "text/plain" } })).status).toBe(415)
      expect((yield* raw({ body: initialize, headers: { origin: "https://evil.example" } })).status).toBe(403)
      // The SDK transport's own check: a client must accept both JSON and an event stream.
      expect((yield* raw({ body: initialize, headers: { accept: "application/json" } })).status).toBe(406)
      // Not JSON-RPC at all: a JSON-RPC parse error, not a crash.
      const garbage = yield* raw({ body: "{\"hello\": 1}" })
      expect(garbage.status).toBe(400)
      expect(garbage.body.error.code).toBeLessThan(0)
    }))
})

layer(serverLayerWith({ MEMORY_API_KEYS_FILE: keysFile }), { timeout: 60_000 })("POST /mcp with API keys", (it) => {
  it.scoped("no key or a wrong key is 401 (JSON, WWW-Authenticate: Bearer); the SDK client cannot connect", () =>
    Effect.gen(function*() {
      const none = yield* raw({ body: initialize })
      expect(none.status).toBe(401)
      expect(none.body).toMatchObject({ _tag: "Unauthorized", message: expect.stringContaining("Bearer") })
      expect(none.headers.get("www-authenticate")).toBe("Bearer")
      expect((yield* raw({ body: initialize, headers: { authorization: "Bearer sk-wrong-0123456789abcdef" } })).status).toBe(401)
      expect((yield* raw({ body: initialize, headers: { authorization: `Basic ${ACME}` } })).status).toBe(401)
      const refused = yield* Effect.exit(Effect.scoped(connect()))
      expect(refused._tag).toBe("Failure")
    }))

  it.scoped("key A works in its own namespace (the default) and cannot reach namespace B by any tool or resource", () =>
    Effect.gen(function*() {
      const acme = yield* connect(ACME)
      const globex = yield* connect(GLOBEX)
      const secret = structured(yield* call(globex, "remember", { content: "Globex launch date is March 3" }))
      expect(secret["namespace"]).toBe("globex")
      const mine = structured(yield* call(acme, "remember", { content: "Acme launch date is June 9" }))
      expect(mine["namespace"]).toBe("acme")

      for (
        const [tool, args] of [
          ["search", { query: "launch date", namespace: "globex" }],
          ["get_context", { query: "launch date", namespace: "globex" }],
          ["remember", { content: "planted", namespace: "globex" }],
          ["forget", { id: secret["id"], namespace: "globex" }],
          ["forget", { filter: {}, namespace: "globex" }],
          ["kv_get", { key: "k", namespace: "globex" }],
          ["get_history", { sessionId: "s", namespace: "globex" }],
          ["ingest_document", { content: "planted", namespace: "globex" }]
        ] as const
      ) {
        expect(toolError(yield* call(acme, tool, args)), tool).toMatchObject({ _tag: "Forbidden", message: expect.stringContaining("globex") })
      }
      const read = yield* Effect.promise(() =>
        acme.readResource({ uri: memoryUri("globex", secret["id"]) }).then(() => "read", (e: Error) => e.message))
      expect(read).toContain("Forbidden")
      const prompt = yield* Effect.promise(() =>
        acme.getPrompt({ name: "answer_from_memory", arguments: { question: "launch date", namespace: "globex" } }).then(
          () => "answered",
          (e: Error) => e.message
        ))
      expect(prompt).toContain("Forbidden")

      // Acme's own search sees its record only; Globex's record is intact.
      const found = structured(yield* call(acme, "search", { query: "launch date" }))
      expect(found["hits"].map((h: { content: string }) => h.content)).toEqual(["Acme launch date is June 9"])
      const theirs = structured(yield* call(globex, "search", { query: "launch date" }))
      expect(theirs["hits"].map((h: { id: string }) => h.id)).toEqual([secret["id"]])
    }))
})
