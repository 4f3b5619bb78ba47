/**
 * MCP resources: a stored record by URI, `memory://{namespace}/{id}`, and a
 * session's history, `session://{namespace}/{sessionId}`. Both are templates
 * (records are too many to list); each part is percent-encoded, as RFC 6570
 * simple expansion does, so ids holding `/` or `:` (document chunks) round-trip.
 */
import { Effect, Schema } from "effect"
import { InvalidInput } from "../domain/errors.ts"
import { MemoryId, MemoryRecord, Namespace, SessionId } from "../domain/Memory.ts"
import { History } from "../domain/Session.ts"
import type { Tenant } from "../http/Auth.ts"
import { resolveNamespace } from "../http/TenantNamespace.ts"
import type { Memory } from "../memory/Memory.ts"
import { invalidInput, type ToolFailure } from "./McpTool.ts"

export const resourceTemplates = [
  {
    uriTemplate: "memory://{namespace}/{id}",
    name: "memory",
    title: "A stored memory",
    description: "One stored record (memory, knowledge chunk or message) by its namespace and id, as JSON.",
    mimeType: "application/json"
  },
  {
    uriTemplate: "session://{namespace}/{sessionId}",
    name: "session-history",
    title: "A conversation's history",
    description: "The latest 50 messages of a session, oldest first, as JSON.",
    mimeType: "application/json"
  }
] as const

export const memoryUri = (namespace: string, id: string) => `memory://${encodeURIComponent(namespace)}/${encodeURIComponent(id)}`
export const sessionUri = (namespace: string, sessionId: string) =>
  `session://${encodeURIComponent(namespace)}/${encodeURIComponent(sessionId)}`

const badUri = (uri: string) =>
  new InvalidInput({
    field: "uri",
    message: `${JSON.stringify(uri)} is not a resource of this server (memory://{namespace}/{id} or session://{namespace}/{sessionId})`
  })

/** The scheme and the two percent-decoded parts of a resource URI. */
const parse = (uri: string) =>
  Effect.gen(function*() {
    const match = /^(memory|session):\/\/([^/]+)\/(.+)$/.exec(uri)
    if (match === null) return yield* badUri(uri)
    const [, scheme, first, second] = match
    const parts = yield* Effect.try({
      try: () => ({ namespace: decodeURIComponent(first!), name: decodeURIComponent(second!) }),
      catch: () => badUri(uri)
    })
    return { scheme: scheme as "memory" | "session", ...parts }
  })

const json = (uri: string, text: string) => ({ contents: [{ uri, mimeType: "application/json", text }] })

export const readResource = (memory: Memory, uri: string): Effect.Effect<ReturnType<typeof json>, ToolFailure, Tenant> =>
  Effect.gen(function*() {
    const { name, namespace: requested, scheme } = yield* parse(uri)
    const namespace = yield* resolveNamespace(yield* Effect.mapError(Schema.decodeUnknown(Namespace)(requested), invalidInput))
    if (scheme === "memory") {
      const id = yield* Effect.mapError(Schema.decodeUnknown(MemoryId)(name), invalidInput)
      const record = yield* memory.get(id, namespace)
      return json(uri, JSON.stringify(yield* Effect.orDie(Schema.encode(MemoryRecord)(record))))
    }
    const sessionId = yield* Effect.mapError(Schema.decodeUnknown(SessionId)(name), invalidInput)
    const history = yield* memory.history(sessionId, { namespace })
    return json(uri, JSON.stringify(yield* Effect.orDie(Schema.encode(History)(history))))
  }).pipe(Effect.withSpan("mcp.resource", { attributes: { "mcp.resource.uri": uri }, captureStackTrace: false }))
