/**
 * `/mcp` on the HTTP server: the MCP Streamable HTTP transport, behind the same
 * API keys as /v1 (`Authorization: Bearer <key>`, MEMORY_API_KEYS_FILE), each
 * key confined to its namespaces.
 *
 * Stateless: every POST gets a fresh SDK server and transport for the caller's
 * tenant, answered as plain JSON (no SSE stream), so any instance behind a load
 * balancer can serve any request and nothing is held between them. GET (a
 * server-to-client stream) and DELETE (ending a session) have nothing to serve
 * here: 405. The SDK transport reads the body itself, bounded by `maxBody`, and
 * refuses a wrong Accept or Content-Type before it reads.
 */
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import { Effect, Layer, Option, Redacted } from "effect"
import { Authorization } from "../http/Auth.ts"
import { McpMemory } from "./McpMemory.ts"
import { McpTransportError } from "./McpTransportError.ts"

export const MCP_PATH = "/mcp"

/** The SDK's own default, the same as the HTTP API's (MEMORY_MAX_BODY's default). */
export const DEFAULT_MAX_BODY = 4 * 1024 * 1024

const errorJson = (status: number, _tag: string, message: string, headers: Record<string, string> = {}) =>
  HttpServerResponse.unsafeJson({ _tag, message }, { status, headers })

const bearer = (request: HttpServerRequest.HttpServerRequest) => {
  const header = request.headers["authorization"] ?? ""
  // As HttpApi's bearer security reads it: a missing or other scheme is the empty key.
  return Redacted.make(/^bearer /i.test(header) ? header.slice("bearer ".length).trim() : "")
}

/** One MCP exchange: a fresh server for the tenant, over a fresh transport, closed once answered. */
const exchange = (mcp: McpMemory, request: HttpServerRequest.HttpServerRequest, tenant: Parameters<McpMemory["make"]>[0], maxBody: number) =>
  Effect.scoped(
    Effect.gen(function*() {
      const web = yield* HttpServerRequest.toWeb(request)
      // The request's span is the parent of the tool spans the SDK callbacks start.
      const parent = Option.getOrUndefined(yield* Effect.option(Effect.currentSpan))
      const server = mcp.make(tenant, parent)
      // No sessionIdGenerator: the SDK's stateless mode.
      const transport = new WebStandardStreamableHTTPServerTransport({
        enableJsonResponse: true,
        maxRequestBodySize: maxBody
      })
      yield* Effect.acquireRelease(
        Effect.tryPromise({ try: () => server.connect(transport), catch: (e) => new McpTransportError({ message: String(e) }) }),
        () => Effect.promise(() => server.close())
      )
      const response = yield* Effect.tryPromise({
        try: () => transport.handleRequest(web),
        catch: (e) => new McpTransportError({ message: `the MCP request could not be handled: ${(e as Error).message}` })
      })
      return HttpServerResponse.fromWeb(response)
    })
  )

/** The /mcp route, added to the HttpApi's router: merge this layer where the server's layers are built. */
export const layer = (options: { readonly maxBody?: number | undefined } = {}) =>
  HttpApiBuilder.Router.use((router) =>
    Effect.gen(function*() {
      const mcp = yield* McpMemory
      const auth = yield* Authorization
      const maxBody = options.maxBody ?? DEFAULT_MAX_BODY
      const handler = Effect.gen(function*() {
        const request = yield* HttpServerRequest.HttpServerRequest
        if (request.method !== "POST") {
          return errorJson(405, "MethodNotAllowed", `${MCP_PATH} is stateless: POST JSON-RPC messages to it (no GET stream, no sessions to DELETE)`, {
            allow: "POST"
          })
        }
        const tenant = yield* auth.bearer(bearer(request))
        return yield* exchange(mcp, request, tenant, maxBody)
      }).pipe(
        Effect.catchTags({
          Unauthorized: (e) => Effect.succeed(errorJson(401, e._tag, e.message, { "www-authenticate": "Bearer" })),
          RequestError: (e) => Effect.succeed(errorJson(400, "InvalidInput", e.message)),
          McpTransportError: (e) => Effect.succeed(errorJson(500, e._tag, e.message))
        })
      )
      yield* router.all(MCP_PATH, handler)
    })
  )

/** The same, with the memory's MCP service built from the Memory the server already has. */
export const layerWithService = (options: { readonly maxBody?: number | undefined } = {}) =>
  layer(options).pipe(Layer.provide(McpMemory.Default))
