/**
 * POST /v1/search answered from the in-process cache without the Effect HTTP stack (router,
 * middleware, a fiber per request): that stack costs ~30× the hit itself. Node's request comes
 * here first; every decision is made by the functions the Effect path calls (Edge.check,
 * ApiKeys.tenantOf, decideNamespace, decodeJsonBody, Memory.cachedSearch, searchResponseBody),
 * and whatever this path cannot answer with certainty goes on, unchanged, to the Effect app:
 * another route, a refusal of any kind, a browser (an Origin: CORS), a traced caller
 * (the HTTP span), a body that is chunked, empty or invalid, a cache miss, a shutdown begun.
 * A body read here is handed on as a replayed request. Off with request logging (each request
 * is logged by the Effect app). With a Redis L2 a hit waits for one read of the namespace's
 * generation there (a promise, still no fiber), and whatever it does not confirm goes on.
 */
import { type IncomingMessage, Server, type ServerResponse } from "node:http"
import { Readable } from "node:stream"
import { Effect, Either, type Fiber, Runtime } from "effect"
import { LRUCache } from "lru-cache"
import { SearchRequest, type SearchResponse } from "../domain/Search.ts"
import { Memory, type PlannedSearch } from "../memory/Memory.ts"
import { ApiKeys, BEARER_PREFIX } from "./Auth.ts"
import { Drain } from "./Drain.ts"
import * as Edge from "./Edge.ts"
import { EdgeSettings } from "./EdgeSettings.ts"
import { decodeJsonBody } from "./RequestBody.ts"
import { searchResponseBody } from "./search/Http.ts"
import { decideNamespace } from "./TenantNamespace.ts"

/** Answers the request, or hands it (the same, or a replay of its read body) to `next`. */
export type FastPath = (request: IncomingMessage, response: ServerResponse, next: (request: IncomingMessage) => void) => void

// Headers that change the Effect path's answer or its spans: CORS (Origin) and trace propagation.
const DEFER_HEADERS = ["origin", "traceparent", "b3", "x-b3-traceid", "transfer-encoding"] as const

/** The request as the Effect app would have read it: the same head, its body from memory. */
const replay = (source: IncomingMessage, body: Uint8Array): IncomingMessage => {
  const stream = new Readable({ read() {} })
  stream.push(body)
  stream.push(null)
  return Object.assign(stream, {
    headers: source.headers,
    rawHeaders: source.rawHeaders,
    trailers: source.trailers,
    rawTrailers: source.rawTrailers,
    method: source.method,
    url: source.url,
    httpVersion: source.httpVersion,
    httpVersionMajor: source.httpVersionMajor,
    httpVersionMinor: source.httpVersionMinor,
    socket: source.socket,
    connection: source.socket,
    complete: true,
    aborted: false
  }) as unknown as IncomingMessage
}

export interface FastPathOptions {
  readonly logRequests?: boolean | undefined
  /** false turns the path off (the tests compare the two). */
  readonly enabled?: boolean | undefined
  /** Called for each request this path answered (the tests count them). */
  readonly onAnswer?: (() => void) | undefined
}

type AnyFiber = Fiber.RuntimeFiber<unknown, unknown>

/** Bodies up to this size are remembered (a repeated search is a repeated body), this many of them. */
const SEEN_BODY_BYTES = 4096
const SEEN_BODIES = 1024

/** A body decoded before, and the search its namespace last decided (a plan is per namespace). */
interface SeenBody {
  readonly payload: SearchRequest
  planned: PlannedSearch | undefined
}

export const make = (options: FastPathOptions) =>
  Effect.gen(function*() {
    const memory = yield* Memory
    const settings = yield* EdgeSettings
    const drain = yield* Drain
    const keys = yield* ApiKeys
    const cachedSearch = memory.cachedSearch
    if (options.enabled === false || options.logRequests || cachedSearch === undefined) return undefined
    // A fiber of this runtime, done: its tracer, parent span and metric labels are those each answer
    // would have had in a fiber of its own (Runtime.runSync), without starting one per request.
    const fiber = Runtime.runSync(yield* Effect.runtime<never>())(Effect.withFiberRuntime<AnyFiber>((f) => Effect.succeed(f)))
    const decode = decodeJsonBody(SearchRequest)
    // Decoding and planning are pure functions of the bytes (and the namespace): a body seen
    // before is not decoded or planned again. Only bodies that decoded are kept.
    const seen = new LRUCache<string, SeenBody>({ max: SEEN_BODIES })

    const decoded = (bytes: Buffer): SeenBody | undefined => {
      const text = bytes.length <= SEEN_BODY_BYTES ? bytes.toString("latin1") : undefined
      const known = text === undefined ? undefined : seen.get(text)
      if (known !== undefined) return known
      const payload = decode(bytes)
      if (Either.isLeft(payload)) return undefined
      const body: SeenBody = { payload: payload.right, planned: undefined }
      if (text !== undefined) seen.set(text, body)
      return body
    }

    /** The body's answer (a promise of it with a Redis L2), or undefined when the Effect app must decide. */
    const answer = (headers: IncomingMessage["headers"], bytes: Buffer): string | undefined | Promise<string | undefined> => {
      if (drain.draining()) return undefined
      const tenant = keys.tenantOf((headers.authorization ?? "").slice(BEARER_PREFIX.length))
      if (tenant === undefined) return undefined
      const body = decoded(bytes)
      if (body === undefined) return undefined
      const namespace = decideNamespace(tenant, body.payload.namespace)
      if (Either.isLeft(namespace)) return undefined
      let planned = body.planned
      if (planned === undefined || planned.plan.selector.namespace !== namespace.right) {
        planned = body.planned = cachedSearch.plan({ ...body.payload, namespace: namespace.right })
      }
      const hit = cachedSearch.answer(planned, fiber)
      return hit instanceof Promise ? hit.then(bodyOf) : bodyOf(hit)
    }
    const bodyOf = (hit: SearchResponse | undefined) => hit === undefined ? undefined : searchResponseBody(hit)

    const fastPath: FastPath = (request, response, next) => {
      const { headers } = request
      if (request.method !== "POST" || request.url !== "/v1/search" || drain.draining()) return next(request)
      if (DEFER_HEADERS.some((name) => headers[name] !== undefined)) return next(request)
      if (headers.authorization !== undefined && !headers.authorization.startsWith(BEARER_PREFIX)) return next(request)
      const length = headers["content-length"]
      if (length === undefined || !/^\d{1,15}$/.test(length) || Number(length) === 0 || Number(length) > settings.maxBody) {
        return next(request)
      }
      if (Edge.check(request as Edge.EdgeRequest, settings) !== undefined) return next(request)
      // Node frames the body to Content-Length: these chunks are all of it and no more.
      const chunks: Array<Buffer> = []
      request.on("data", (chunk: Buffer) => void chunks.push(chunk))
      request.once("end", () => {
        const bytes = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks)
        const send = (body: string | undefined) => {
          // A shutdown may have begun during an L2 round trip: the Effect app answers that.
          if (body === undefined || drain.draining()) return next(replay(request, bytes))
          // The headers the Effect path sends for this answer (HttpServerResponse.text, no CORS without an Origin).
          response.writeHead(200, { "content-type": "application/json", "content-length": String(Buffer.byteLength(body)) })
          response.end(body)
          options.onAnswer?.()
        }
        let body: string | undefined | Promise<string | undefined>
        try {
          body = answer(headers, bytes)
        } catch {
          body = undefined
        }
        if (body instanceof Promise) body.then(send, () => send(undefined))
        else send(body)
      })
      // A read that fails (the client went away) has no one left to answer.
      request.once("error", () => request.destroy())
    }
    return fastPath
  })

/**
 * Node's HTTP server. A request may last as long as its body keeps coming: Node's default
 * cuts every request at 5 minutes, and an NDJSON import of a million records takes longer.
 * The headers must still arrive within Node's `headersTimeout` (60 s).
 */
const nodeServer = (): Server => {
  const server = new Server()
  server.requestTimeout = 0
  return server
}

/** Node's HTTP server with `fastPath` in front of every `request` listener (the Effect app's). */
export const server = (fastPath: FastPath | undefined): Server => {
  if (fastPath === undefined) return nodeServer()
  const server = nodeServer()
  const emit = server.emit.bind(server) as (event: string | symbol, ...args: Array<unknown>) => boolean
  // Node emits every request as `request`: the listeners (the Effect app's) hear only what this hands on.
  server.emit = ((event: string | symbol, ...args: Array<unknown>) => {
    if (event !== "request") return emit(event, ...args)
    const response = args[1] as ServerResponse
    fastPath(args[0] as IncomingMessage, response, (request) => void emit("request", request, response))
    return true
  }) as Server["emit"]
  return server
}
