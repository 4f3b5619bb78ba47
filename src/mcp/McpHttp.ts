/**
 * `/mcp` on the HTTP server: the MCP Streamable HTTP transport, behind the same
 * API keys as /v1 (`Authorization: Bearer <key>`, MEMORY_API_KEYS_FILE), each
 * key confined to its namespaces.
 *
 * Stateless: every POST gets a fresh SDK server and transport for the caller's
 * tenant, answered as plain JSON (no SSE stream), so any instance behind a load
 * balancer can serve any request and nothing is held between them. GET (a
 * server-to-client stream) and DELETE (ending a session) have nothing to serve
 * here: 405. The SDK transport reads the body itself, bounded, and refuses a
 * wrong Accept before it reads.
 */
import { HttpApiBuilder, HttpServerRequest, HttpServerResponse } from "@effect/platform"
import { WebStandardStreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/webStandardStreamableHttp.js"
import { Effect, Layer, Option, Redacted } from "effect"
import * as Auth from "../http/Auth.ts"
import { Authorization } from "../http/Auth.ts"
import { EdgeSettings } from "../http/EdgeSettings.ts"
import { McpMemory } from "./McpMemory.ts"
import { McpTransportError } from "./McpTransportError.ts"

export const MCP_PATH = "/mcp"

/** Without the edge's settings: the SDK's own default, which is also MEMORY_MAX_BODY's. */
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

/**
 * The /mcp route, added to the HttpApi's router; the server's edge (src/http/Edge.ts) has
 * already checked Host, Origin, Content-Type and Content-Length, and answers 405 to GET and
 * DELETE. The body bound is the edge's (MEMORY_MAX_BODY), applied again by the SDK
 * transport as it reads, so a chunked body is bounded too.
 */
const route = HttpApiBuilder.Router.use((router) =>
  Effect.gen(function*() {
    const mcp = yield* McpMemory
    const auth = yield* Authorization
    const maxBody = Option.match(yield* Effect.serviceOption(EdgeSettings), {
      onNone: () => DEFAULT_MAX_BODY,
      onSome: (settings) => settings.maxBody
    })
    const handler = Effect.gen(function*() {
      const request = yield* HttpServerRequest.HttpServerRequest
      const tenant = yield* auth.bearer(bearer(request))
      return yield* exchange(mcp, request, tenant, maxBody)
    }).pipe(
      Effect.catchTags({
        Unauthorized: (e) => Effect.succeed(errorJson(401, e._tag, e.message, { "www-authenticate": "Bearer" })),
        RequestError: (e) => Effect.succeed(errorJson(400, "InvalidInput", e.message)),
        McpTransportError: (e) => Effect.succeed(errorJson(500, e._tag, e.message))
      })
    )
    yield* router.post(MCP_PATH, handler)
  })
)

/**
 * /mcp over the Memory the server already has, with the same API keys as /v1 (Auth.layer is
 * the same Layer value the API uses, so it is built once and the keys file read once).
 */
export const layer = route.pipe(Layer.provide([McpMemory.Default, Auth.layer]))
