/**
 * The edge: what every request passes before a route runs, and the last word
 * on what any request answers. In order:
 * - while draining for shutdown, 503 ShuttingDown;
 * - a Host that is not this server's is 421 (DNS rebinding), unless API keys are in force;
 * - an Origin that is neither this server's nor on MEMORY_CORS_ORIGINS is 403
 *   (CSRF: a page elsewhere cannot make the browser write); allowed origins get
 *   CORS headers and preflights (HttpMiddleware.cors);
 * - an unknown path is 404, a known path with another method 405;
 * - POST/PUT/PATCH need Content-Type application/json (the batch route also
 *   application/x-ndjson), else 415; a Content-Length over MEMORY_MAX_BODY is 413
 *   before a byte is read; GET/DELETE take no body (400);
 * - whatever escapes the API (a defect) is a JSON 500, never an empty body.
 * Every refusal is JSON `{_tag, message}`.
 */
import {
  type HttpApiGroup,
  type HttpApp,
  HttpMiddleware,
  HttpServerError,
  HttpServerRequest,
  HttpServerResponse
} from "@effect/platform"
import { Cause, Effect } from "effect"
import { Api } from "./Api.ts"
import type { DrainShape } from "./Drain.ts"
import type { EdgeSettingsShape } from "./EdgeSettings.ts"

interface Route {
  readonly method: string
  readonly pattern: RegExp
}

const BATCH_PATH = "/v1/memories/batch"
const WITH_BODY = new Set(["POST", "PUT", "PATCH"])

const pattern = (path: string) =>
  new RegExp(`^${path.replace(/[.*+?^${}()|[\]\\]/g, "\\$&").replace(/\/:[A-Za-z_]+/g, "/[^/]+")}/?$`)

/** Every route the server answers: the API's endpoints and the documentation pages. */
const endpoints: ReadonlyArray<{ readonly method: string; readonly path: string }> = [
  ...Object.values(Api.groups as unknown as Record<string, HttpApiGroup.HttpApiGroup.AnyWithProps>).flatMap((group) =>
    Object.values(group.endpoints).map((endpoint) => ({ method: endpoint.method, path: endpoint.path as string }))
  ),
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/docs" },
  // MCP's Streamable HTTP transport (src/mcp/McpHttp.ts), stateless: POST only.
  { method: "POST", path: "/mcp" }
]

const routes: ReadonlyArray<Route> = endpoints.map(({ method, path }) => ({ method, pattern: pattern(path) }))

/**
 * The routes matching each path without parameters (`/v1/search`), found by the same patterns
 * once: the commonest requests skip the path check and the match over every route.
 */
const staticMatches: ReadonlyMap<string, ReadonlyArray<Route>> = new Map(
  endpoints.filter(({ path }) => !path.includes("/:")).map(({ path }) => [path, routes.filter((route) => route.pattern.test(path))])
)

export const refusal = (
  _tag: string,
  message: string,
  status: number,
  extra: Record<string, unknown> = {},
  headers: Record<string, string> = {}
) => HttpServerResponse.unsafeJson({ _tag, message, ...extra }, { status, headers })

const mediaType = (contentType: string | undefined) => (contentType ?? "").split(";")[0]!.trim().toLowerCase()

/** The host name of a Host header, without its port (`[::1]:8080` → `[::1]`). */
const hostName = (host: string) => (host.startsWith("[") ? host.slice(0, host.indexOf("]") + 1) : host.split(":")[0]!).toLowerCase()

const sameOrigin = (origin: string, host: string | undefined) => {
  try {
    return host !== undefined && new URL(origin).host.toLowerCase() === host.toLowerCase()
  } catch {
    return false
  }
}

const validPath = (path: string) => {
  try {
    return path.split("/").every((segment) => segment.length <= 256 && decodeURIComponent(segment).length <= 256)
  } catch {
    return false
  }
}

const hasBody = (request: EdgeRequest) => {
  const length = request.headers["content-length"]
  return request.headers["transfer-encoding"] !== undefined || (length !== undefined && length !== "0")
}

/** What the edge looks at: an HttpServerRequest, or Node's request before Effect sees it (the search fast path). */
export interface EdgeRequest {
  readonly method: string
  readonly url: string
  readonly headers: Readonly<Record<string, string | undefined>>
}

/** A refusal for a request the API must not see, or undefined to let it through. */
export const check = (request: EdgeRequest, settings: EdgeSettingsShape): HttpServerResponse.HttpServerResponse | undefined => {
  const host = request.headers["host"]
  if (settings.allowedHosts && !settings.allowedHosts.has(hostName(host ?? ""))) {
    return refusal(
      "MisdirectedRequest",
      `this server does not answer to Host ${JSON.stringify(host ?? "")} (add the name to MEMORY_ALLOWED_HOSTS)`,
      421
    )
  }
  const origin = request.headers["origin"]
  if (origin !== undefined && !settings.corsOrigins.has(origin.toLowerCase()) && !sameOrigin(origin, host)) {
    return refusal("Forbidden", `requests from origin ${JSON.stringify(origin)} are refused (allow it in MEMORY_CORS_ORIGINS)`, 403)
  }
  const queryAt = request.url.indexOf("?")
  const path = queryAt < 0 ? request.url : request.url.slice(0, queryAt)
  let matching = staticMatches.get(path)
  if (matching === undefined) {
    // The router answers these with an empty 404 of its own, before any middleware could shape it.
    if (!validPath(path)) {
      return refusal("InvalidInput", "the path is not valid: each segment is at most 256 characters of percent-encoded UTF-8", 400)
    }
    matching = routes.filter((route) => route.pattern.test(path))
  }
  if (matching.length === 0) return refusal("NotFound", `no route ${JSON.stringify(path)}`, 404)
  if (!matching.some((route) => route.method === request.method)) {
    const allowed = [...new Set(matching.map((route) => route.method))]
    return refusal("MethodNotAllowed", `${request.method} is not allowed on ${path} (allowed: ${allowed.join(", ")})`, 405, { allowed }, {
      allow: allowed.join(", ")
    })
  }
  if (WITH_BODY.has(request.method)) {
    const type = mediaType(request.headers["content-type"])
    const batch = path.replace(/\/$/, "") === BATCH_PATH
    const ndjson = type === "application/x-ndjson" || type === "application/ndjson"
    if (type !== "application/json" && !(batch && ndjson)) {
      return refusal(
        "UnsupportedMediaType",
        `${request.method} ${path} takes Content-Type application/json${batch ? " or application/x-ndjson" : ""}, not ${type === "" ? "none" : JSON.stringify(type)}`,
        415
      )
    }
    // The namespace (and every other input) of a JSON route is in its body, never in the query.
    const query = queryAt < 0 ? [] : [...new URLSearchParams(request.url.slice(queryAt + 1)).keys()]
    if (!batch && query.length > 0) {
      return refusal(
        "InvalidInput",
        `${query[0]}: unknown query parameter (${request.method} ${path} takes its input, namespace included, in the JSON body)`,
        400,
        { field: query[0] }
      )
    }
    const length = Number(request.headers["content-length"] ?? 0)
    if (!ndjson && length > settings.maxBody) {
      // Node reads and drops the unread body after answering, so a client still sending gets the 413.
      return refusal("PayloadTooLarge", `the request body is larger than ${settings.maxBody} bytes (MEMORY_MAX_BODY)`, 413, {
        limit: settings.maxBody
      })
    }
  } else if (hasBody(request)) {
    return refusal(
      "InvalidInput",
      `${request.method} ${path} takes no body (name the namespace as ?namespace=)`,
      400
    )
  }
  return undefined
}

/** A failure nothing else answered: a route the router lost, or a defect (logged, not shown). */
const lastResort = (cause: Cause.Cause<unknown>) => {
  const failure = Cause.failureOption(cause)
  if (failure._tag === "Some" && HttpServerError.isServerError(failure.value) && failure.value._tag === "RouteNotFound") {
    return Effect.succeed(refusal("NotFound", `no route ${JSON.stringify(failure.value.request.url.split("?")[0])}`, 404))
  }
  return Effect.as(
    Effect.logError("request failed unexpectedly", cause),
    refusal("InternalError", "the server failed to answer this request (the cause is in its log)", 500)
  )
}

/** An error answered with no body (the router's own 404 for a path it cannot match, say) gets the JSON one. */
const withBody = (response: HttpServerResponse.HttpServerResponse, request: HttpServerRequest.HttpServerRequest) =>
  response.status >= 400 && (response.body._tag === "Empty" || (response.body.contentType ?? response.headers["content-type"]) === undefined)
    ? response.status === 404
      ? refusal("NotFound", `no route ${JSON.stringify(request.url.split("?")[0])}`, 404)
      : refusal("HttpError", `the request failed with status ${response.status}`, response.status)
    : response

/** A request still running when the shutdown grace is over: interrupted, and told so. */
const cutAtShutdown = () =>
  refusal("ShuttingDown", "the server shut down before the request finished (MEMORY_SHUTDOWN_GRACE); it may not have taken effect", 503, {}, {
    connection: "close"
  })

/** The edge around the whole HTTP app; CORS headers go on every answer, refusals included. */
export const middleware = (settings: EdgeSettingsShape, drain: DrainShape) => {
  const cors = HttpMiddleware.cors({
    // The header may be absent: the predicate is called for every request.
    allowedOrigins: (origin: string | undefined) => origin !== undefined && settings.corsOrigins.has(origin.toLowerCase()),
    allowedHeaders: ["authorization", "content-type"],
    maxAge: 600
  })
  return <E, R>(app: HttpApp.Default<E, R>): HttpApp.Default<never, R | HttpServerRequest.HttpServerRequest> =>
    cors(Effect.flatMap(HttpServerRequest.HttpServerRequest, (request) => {
      if (drain.draining()) {
        return Effect.succeed(refusal("ShuttingDown", "the server is shutting down; retry after it restarts", 503, {}, { connection: "close" }))
      }
      const refused = check(request, settings)
      return refused ? Effect.succeed(refused) : Effect.map(drain.track(app, Effect.sync(cutAtShutdown)), (response) => withBody(response, request))
    })).pipe(
      Effect.catchAllCause((cause) => (Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : lastResort(cause)))
    ) as HttpApp.Default<never, R | HttpServerRequest.HttpServerRequest>
}
