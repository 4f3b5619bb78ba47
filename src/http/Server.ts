/**
 * The HTTP server: the API, /openapi.json, a browsable /docs page (Scalar,
 * served inline so it works offline), request logging, on Node's http server.
 */
import { createServer } from "node:http"
import { HttpApiBuilder, HttpApiScalar, HttpMiddleware, HttpServer } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { Config, Layer } from "effect"
import { ApiLive } from "./Handlers.ts"

export interface ServerOptions {
  readonly host: string
  readonly port: number
}

export const serverConfig: Config.Config<ServerOptions> = Config.all({
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.port("PORT").pipe(Config.withDefault(8080))
})

/** Everything but the listening socket: used by the server and by tests through HttpServer test layers. */
export const HttpAppLive = HttpApiBuilder.serve(HttpMiddleware.logger).pipe(
  Layer.provide(HttpApiScalar.layer({ path: "/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
  Layer.provide(ApiLive)
)

export const layer = (options: ServerOptions) =>
  HttpAppLive.pipe(
    HttpServer.withLogAddress,
    Layer.provide(NodeHttpServer.layer(createServer, { host: options.host, port: options.port }))
  )
