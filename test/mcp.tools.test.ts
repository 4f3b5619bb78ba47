/**
 * The MCP server over the real memory stack (in-memory store, hashing
 * embedder), reached by the SDK's own Client through its in-memory transport:
 * the tools' schemas, each tool, tool errors, namespace confinement, resources,
 * the prompt, and the span and counter of every tool call.
 */
import { Client } from "@modelcontextprotocol/sdk/client/index.js"
import { InMemoryTransport } from "@modelcontextprotocol/sdk/inMemory.js"
import type { CallToolResult } from "@modelcontextprotocol/sdk/types.js"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Layer, Logger, LogLevel, Metric, Tracer } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as HashingEmbedder from "../layers/embedder/HashingEmbedder.ts"
import * as InMemoryStore from "../layers/store/memory/InMemoryStore.ts"
import { StoreUnavailable } from "../src/domain/errors.ts"
import type { TenantShape } from "../src/http/Auth.ts"
import { McpMemory } from "../src/mcp/McpMemory.ts"
import { Memory } from "../src/memory/Memory.ts"
import { memoryUri, sessionUri } from "../src/mcp/McpResources.ts"
import { toolCalls } from "../src/mcp/toolTelemetry.ts"

// Every span the stack starts, to check the tool spans (names and attributes).
const spans: Array<Tracer.Span> = []
const native = Effect.runSync(Effect.tracer)
const recording = Tracer.make({
  span: (...args) => {
    const span = native.span(...args)
    spans.push(span)
    return span
  },
  context: (f, fiber) => native.context(f, fiber)
})

const McpLive = McpMemory.Default.pipe(
  Layer.provide(
    AgentMemory.layer({
      embedder: HashingEmbedder.layer(),
      store: ({ dimensions }) => InMemoryStore.layer({ dimensions })
    })
  ),
  Layer.provide(Layer.setTracer(recording))
)

const everyone: TenantShape = { namespaces: "all" }

/** A connected SDK client of a server made for `tenant`; closed with the scope. */
const connect = (tenant: TenantShape = everyone) =>
  Effect.acquireRelease(
    Effect.gen(function*() {
      const mcp = yield* McpMemory
      const [clientSide, serverSide] = InMemoryTransport.createLinkedPair()
      const server = mcp.make(tenant)
      const client = new Client({ name: "mcp-test", version: "1.0.0" })
      yield* Effect.promise(() => Promise.all([server.connect(serverSide), client.connect(clientSide)]))
      return client
    }),
    (client) => Effect.promise(() => client.close())
  )

const call = (client: Client, name: string, args: Record<string, unknown>) =>
  Effect.promise(() => client.callTool({ name, arguments: args }) as Promise<CallToolResult>)

/** A successful call's structured answer. */
const ok = (result: CallToolResult) => {
  expect(result.isError ?? false, JSON.stringify(result.content)).toBe(false)
  return result.structuredContent as Record<string, any>
}

/** A tool error's `{_tag, message}`. */
const failed = (result: CallToolResult) => {
  expect(result.isError).toBe(true)
  const [content] = result.content
  expect(content?.type).toBe("text")
  return JSON.parse((content as { text: string }).text) as { _tag: string; message: string }
}

const findRef = (value: unknown): boolean =>
  typeof value === "object" && value !== null &&
  (Object.keys(value).some((k) => k === "$ref" || k === "allOf") || Object.values(value).some(findRef))

describe("MCP tools over the Memory service", () => {
  it.scoped("lists every tool with a self-contained object schema, each argument described", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      const { tools } = yield* Effect.promise(() => client.listTools())
      expect(tools.map((t) => t.name)).toEqual([
        "remember",
        "search",
        "get_context",
        "forget",
        "kv_set",
        "kv_get",
        "add_message",
        "get_history",
        "ingest_document"
      ])
      for (const tool of tools) {
        expect(tool.description!.length).toBeGreaterThan(40)
        expect(tool.inputSchema.type).toBe("object")
        expect(tool.outputSchema?.type).toBe("object")
        expect(findRef(tool.inputSchema), `${tool.name} has a $ref or allOf`).toBe(false)
        expect(JSON.stringify(tool.inputSchema)).not.toContain("$defs")
        for (const [name, property] of Object.entries(tool.inputSchema.properties ?? {})) {
          // Written for a model, not generated ("a string at most 64 character(s) long").
          expect((property as { description?: string }).description, `${tool.name}.${name}`).not.toMatch(/^(a|an) (string|number|integer|array)/)
          expect((property as { description?: string }).description!.length, `${tool.name}.${name}`).toBeGreaterThan(10)
        }
      }
      const remember = tools.find((t) => t.name === "remember")!
      expect(remember.inputSchema.required).toEqual(["content"])
      expect(remember.inputSchema).toMatchObject({ additionalProperties: false, properties: { ttlSeconds: { type: "integer", minimum: 1 } } })
      expect(tools.find((t) => t.name === "search")!.inputSchema.properties!["mode"]).toMatchObject({ enum: ["vector", "keyword", "hybrid"] })
    }).pipe(Effect.provide(McpLive)))

  it.scoped("remember → search finds it → get_context cites it → forget removes it", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      const stored = ok(yield* call(client, "remember", {
        content: "The user's cat is called Miso and hates thunderstorms",
        namespace: "flow",
        kind: "knowledge",
        tags: ["pets"],
        metadata: { source: "chat" }
      }))
      expect(stored).toMatchObject({ namespace: "flow", kind: "knowledge", deduplicated: false, tags: ["pets"] })
      expect(typeof stored["createdAt"]).toBe("string")

      const found = ok(yield* call(client, "search", { query: "what is the cat called", namespace: "flow", k: 3 }))
      expect(found["hits"][0]).toMatchObject({ id: stored["id"], content: stored["content"] })

      const context = ok(yield* call(client, "get_context", { query: "what is the cat called", namespace: "flow" }))
      expect(context["text"]).toMatch(/\[1\] .*The user's cat is called Miso/)
      expect(context["sources"][0]).toMatchObject({ ref: 1, id: stored["id"] })

      const forgotten = ok(yield* call(client, "forget", { id: stored["id"], namespace: "flow" }))
      expect(forgotten).toEqual({ deleted: 1 })
      const after = ok(yield* call(client, "search", { query: "what is the cat called", namespace: "flow" }))
      expect(after["hits"]).toEqual([])
      // The same id again is an error that names it.
      expect(failed(yield* call(client, "forget", { id: stored["id"], namespace: "flow" }))._tag).toBe("MemoryNotFound")
    }).pipe(Effect.provide(McpLive)))

  it.scoped("forget by a selection answers the count; kv, sessions and documents round-trip", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      for (const content of ["likes tea", "likes coffee", "works on apollo"]) {
        ok(yield* call(client, "remember", { content, namespace: "sel", tags: content.startsWith("likes") ? ["taste"] : ["work"] }))
      }
      expect(ok(yield* call(client, "forget", { namespace: "sel", tags: ["taste"] }))).toEqual({ deleted: 2 })
      expect(ok(yield* call(client, "forget", { namespace: "sel", filter: {} }))).toEqual({ deleted: 1 })

      expect(ok(yield* call(client, "kv_set", { key: "user.timezone", value: { tz: "Europe/Paris" }, namespace: "kv" }))).toMatchObject({
        key: "user.timezone",
        value: { tz: "Europe/Paris" }
      })
      expect(ok(yield* call(client, "kv_get", { key: "user.timezone", namespace: "kv" }))["value"]).toEqual({ tz: "Europe/Paris" })
      expect(failed(yield* call(client, "kv_get", { key: "user.nothing", namespace: "kv" }))).toMatchObject({ _tag: "KeyNotFound" })

      ok(yield* call(client, "add_message", { sessionId: "s1", role: "user", content: "Book a table for two", namespace: "chat" }))
      ok(yield* call(client, "add_message", { sessionId: "s1", role: "assistant", content: "Done, 8pm at Chez Léon", namespace: "chat" }))
      const history = ok(yield* call(client, "get_history", { sessionId: "s1", namespace: "chat" }))
      expect(history["messages"].map((m: { role: string }) => m.role)).toEqual(["user", "assistant"])

      const document = ok(yield* call(client, "ingest_document", {
        id: "handbook",
        title: "Staff handbook",
        source: "handbook.md",
        content: "Holidays: every employee has 30 days of paid leave a year. ".repeat(40),
        namespace: "docs"
      }))
      expect(document).toMatchObject({ documentId: "handbook" })
      expect(document["chunks"]).toBeGreaterThan(1)
      const context = ok(yield* call(client, "get_context", { query: "how many days of paid leave", namespace: "docs" }))
      expect(context["text"]).toContain("Staff handbook — handbook.md")
    }).pipe(Effect.provide(McpLive)))

  it.scoped("bad arguments are tool errors naming the field, and the session goes on", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      expect(failed(yield* call(client, "search", { query: "x", k: 0 }))).toMatchObject({ _tag: "InvalidInput", message: expect.stringContaining("k") })
      expect(failed(yield* call(client, "remember", {}))).toMatchObject({ _tag: "InvalidInput", message: expect.stringContaining("content") })
      expect(failed(yield* call(client, "remember", { content: "x", namspace: "typo" })).message).toContain("namspace")
      expect(failed(yield* call(client, "forget", { namespace: "x" })).message).toContain("say what to forget")
      expect(failed(yield* call(client, "forget", { id: "a", tags: ["b"] })).message).toContain("not both")
      expect(failed(yield* call(client, "ingest_document", { content: "text", chunkSize: 100, chunkOverlap: 60 })).message).toContain(
        "chunkOverlap"
      )
      expect(failed(yield* call(client, "search", { query: "x", filter: { "bad field": 1 } }))._tag).toBe("InvalidInput")
      // An unknown tool is a protocol error, as the specification says.
      const unknown = yield* Effect.promise(() => client.callTool({ name: "nope", arguments: {} }).then(() => "answered", (e: Error) => e.message))
      expect(unknown).toContain("unknown tool \"nope\"")
      ok(yield* call(client, "remember", { content: "still here" }))
    }).pipe(Effect.provide(McpLive)))

  it.scoped("a server made for a tenant stays in its namespaces: its only one is the default, others are Forbidden", () =>
    Effect.gen(function*() {
      const client = yield* connect({ namespaces: new Set(["acme"]) })
      expect(ok(yield* call(client, "remember", { content: "acme's plan" }))["namespace"]).toBe("acme")
      expect(failed(yield* call(client, "search", { query: "plan", namespace: "globex" }))).toMatchObject({
        _tag: "Forbidden",
        message: expect.stringContaining("globex")
      })
      expect(failed(yield* call(client, "kv_set", { key: "k", value: 1, namespace: "globex" }))._tag).toBe("Forbidden")
      const read = yield* Effect.promise(() =>
        client.readResource({ uri: memoryUri("globex", "x") }).then(() => "read", (e: Error) => e.message))
      expect(read).toContain("Forbidden")
    }).pipe(Effect.provide(McpLive)))

  it.scoped("resources: a record by memory://{namespace}/{id}, a session's history; a prompt over get_context", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      const { resourceTemplates } = yield* Effect.promise(() => client.listResourceTemplates())
      expect(resourceTemplates.map((t) => t.uriTemplate)).toEqual(["memory://{namespace}/{id}", "session://{namespace}/{sessionId}"])
      const stored = ok(yield* call(client, "remember", { id: "notes/2024:01", content: "Miso likes salmon", namespace: "team@x" }))
      const uri = memoryUri("team@x", stored["id"])
      expect(uri).toBe("memory://team%40x/notes%2F2024%3A01")
      const read = yield* Effect.promise(() => client.readResource({ uri }))
      expect(read.contents[0]).toMatchObject({ uri, mimeType: "application/json" })
      expect(JSON.parse((read.contents[0] as { text: string }).text)).toMatchObject({ id: "notes/2024:01", content: "Miso likes salmon" })

      ok(yield* call(client, "add_message", { sessionId: "s9", role: "user", content: "hello", namespace: "team@x" }))
      const history = yield* Effect.promise(() => client.readResource({ uri: sessionUri("team@x", "s9") }))
      expect(JSON.parse((history.contents[0] as { text: string }).text).messages[0]).toMatchObject({ content: "hello" })

      const missing = yield* Effect.promise(() =>
        client.readResource({ uri: memoryUri("team@x", "gone") }).then(() => undefined, (e: { code: number; message: string }) => e))
      expect(missing).toMatchObject({ code: -32002, message: expect.stringContaining("MemoryNotFound") })
      const bad = yield* Effect.promise(() => client.readResource({ uri: "file:///etc/passwd" }).then(() => undefined, (e: Error) => e.message))
      expect(bad).toContain("not a resource of this server")

      const { prompts } = yield* Effect.promise(() => client.listPrompts())
      expect(prompts.map((p) => p.name)).toEqual(["answer_from_memory"])
      const prompt = yield* Effect.promise(() =>
        client.getPrompt({ name: "answer_from_memory", arguments: { question: "what does Miso like", namespace: "team@x", maxTokens: "500" } }))
      const text = (prompt.messages[0]!.content as { text: string }).text
      expect(text).toContain("Miso likes salmon")
      expect(text).toMatch(/Question: what does Miso like$/)
      const noQuestion = yield* Effect.promise(() =>
        client.getPrompt({ name: "answer_from_memory", arguments: {} }).then(() => undefined, (e: Error) => e.message))
      expect(noQuestion).toContain("question")
    }).pipe(Effect.provide(McpLive)))

  it.scoped("every tool call is an mcp.tool span with its name and namespace, counted by tool and outcome", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      const count = (outcome: string) => Metric.value(toolCalls.pipe(Metric.tagged("tool", "kv_get"), Metric.tagged("outcome", outcome)))
      const before = { ok: (yield* count("ok")).count, error: (yield* count("error")).count }
      spans.length = 0
      ok(yield* call(client, "kv_set", { key: "a", value: 1, namespace: "traced" }))
      ok(yield* call(client, "kv_get", { key: "a", namespace: "traced" }))
      failed(yield* call(client, "kv_get", { key: "b", namespace: "traced" }))
      failed(yield* call(client, "kv_get", { key: "b", namespace: "bad namespace" }))
      expect((yield* count("ok")).count - before.ok).toBe(1)
      expect((yield* count("error")).count - before.error).toBe(2)

      const tools = spans.filter((s) => s.name === "mcp.tool")
      expect(tools.map((s) => [s.attributes.get("mcp.tool.name"), s.attributes.get("mcp.tool.outcome")])).toEqual([
        ["kv_set", "ok"],
        ["kv_get", "ok"],
        ["kv_get", "error"],
        ["kv_get", "error"]
      ])
      expect(tools.slice(0, 3).map((s) => s.attributes.get("memory.namespace"))).toEqual(["traced", "traced", "traced"])
      // The Memory call is a child of the tool's span.
      const recall = spans.find((s) => s.name === "Memory.recall")!
      expect(recall.parent._tag === "Some" && recall.parent.value.spanId).toBe(tools[1]!.spanId)
    }).pipe(Effect.provide(McpLive)))
})

describe("MCP tool failures the Memory service raises", () => {
  // A Memory whose calls fail the two ways they can: a typed error, and a defect (a bug).
  const failing = Layer.succeed(Memory, {
    recall: () => Effect.fail(new StoreUnavailable({ message: "the store is down" })),
    remember: () => Effect.die(new Error("boom"))
  } as unknown as Memory)
  const FailingLive = McpMemory.Default.pipe(Layer.provide(failing))

  it.scoped("a typed error is a tool error with its tag and message; a defect is an InternalError, and the session goes on", () =>
    Effect.gen(function*() {
      const client = yield* connect()
      expect(failed(yield* call(client, "kv_get", { key: "a" }))).toEqual({ _tag: "StoreUnavailable", message: "the store is down" })
      const defect = failed(yield* call(client, "kv_set", { key: "a", value: 1 }))
      expect(defect).toMatchObject({ _tag: "InternalError", message: expect.stringContaining("kv_set failed unexpectedly") })
      expect(defect.message).not.toContain("boom")
      const defects = yield* Metric.value(toolCalls.pipe(Metric.tagged("tool", "kv_set"), Metric.tagged("outcome", "defect")))
      expect(defects.count).toBeGreaterThanOrEqual(1)
      expect(failed(yield* call(client, "kv_get", { key: "a" }))._tag).toBe("StoreUnavailable")
    }).pipe(Effect.provide(FailingLive), Logger.withMinimumLogLevel(LogLevel.None)))
})
