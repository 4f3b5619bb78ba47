/**
 * The HTTP server: the API behind the edge (Edge.ts), /openapi.json, a
 * browsable /docs page (Scalar, served inline so it works offline), optional
 * request logging, on Node's http server, draining in-flight requests on
 * shutdown (Drain.ts).
 */
import { HttpApiBuilder, HttpApiScalar, HttpMiddleware, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Config, Effect, Layer } from "effect"
import * as Auth from "./Auth.ts"
import * as Drain from "./Drain.ts"
import * as Edge from "./Edge.ts"
import * as EdgeSettings from "./EdgeSettings.ts"
import { ApiLive } from "./Handlers.ts"
import * as McpHttp from "../mcp/McpHttp.ts"
import * as SearchFastPath from "./SearchFastPath.ts"

export interface ServerOptions {
  readonly host: string
  readonly port: number
  /** A log line per request (method, path, status, time). Off by default: at thousands of requests a second it costs a third of the throughput. */
  readonly logRequests?: boolean | undefined
  /** POST /v1/search cache hits answered before the Effect app (SearchFastPath.ts); on unless false (a switch for tests). */
  readonly searchFastPath?: boolean | undefined
  /** Called for each request the fast path answered (for tests). */
  readonly onFastAnswer?: (() => void) | undefined
}

export const serverConfig: Config.Config<ServerOptions> = Config.all({
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.port("PORT").pipe(Config.withDefault(8080)),
  logRequests: Config.boolean("MEMORY_LOG_REQUESTS").pipe(Config.withDefault(false))
})

// One instance per server: the edge counts requests in it, the shutdown waits on it.
const DrainLive = Drain.layer
const EdgeSettingsLive = EdgeSettings.layer()

/** Everything but the listening socket: used by the server and by tests through HttpServer test layers. */
export const httpApp = (options: { readonly logRequests?: boolean | undefined } = {}) =>
  Layer.unwrapEffect(
    Effect.gen(function*() {
      const edge = Edge.middleware(yield* EdgeSettings.EdgeSettings, yield* Drain.Drain)
      return HttpApiBuilder.serve((app) => edge(options.logRequests ? HttpMiddleware.logger(app) : app))
    })
  ).pipe(
    Layer.provide(HttpApiScalar.layer({ path: "/docs" })),
    Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
    Layer.provide(ApiLive),
    // POST /mcp: the memory over MCP's Streamable HTTP transport, behind the same API keys.
    Layer.provide(McpHttp.layer),
    Layer.provide([DrainLive, EdgeSettingsLive])
  )

export const HttpAppLive = httpApp()

export const layer = (options: ServerOptions) =>
  Drain.onShutdown.pipe(
    Layer.provide(
      httpApp(options).pipe(
        HttpServer.withLogAddress,
        Layer.provide(listening(options))
      )
    ),
    Layer.provide([DrainLive, EdgeSettingsLive, Auth.keysLayer])
  )

/** Node's server on the address, with the search fast path in front of the app when it can answer. */
const listening = (options: ServerOptions) =>
  Layer.unwrapEffect(
    Effect.map(
      SearchFastPath.make({ logRequests: options.logRequests, enabled: options.searchFastPath, onAnswer: options.onFastAnswer }),
      (fastPath) => NodeHttpServer.layer(() => SearchFastPath.server(fastPath), { host: options.host, port: options.port })
    )
  )
