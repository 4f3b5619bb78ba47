/** The real HTTP server on a free loopback port, with an HttpClient aimed at it. */
import { HttpClient, HttpClientRequest, type HttpClientResponse } from "@effect/platform"
import { NodeHttpServer } from "@effect/platform-node"
import { ConfigProvider, Effect, Layer } from "effect"
import * as AgentMemory from "../../layers/app.ts"
import * as HashingEmbedder from "../../layers/embedder/HashingEmbedder.ts"
import * as PgliteStore from "../../layers/store/pglite/PgliteStore.ts"
import { HttpAppLive } from "../../src/http/Server.ts"

/** The default stack (pglite in RAM + local embedder) behind the real server. */
export const serverLayer = serverLayerWith()

/** The same, with HTTP-level settings (e.g. MEMORY_API_KEYS_FILE) read from `env`. */
export function serverLayerWith(env: Record<string, string> = {}) {
  return HttpAppLive.pipe(
  Layer.provide(
    AgentMemory.layer({
      embedder: HashingEmbedder.layer(),
      store: ({ dimensions }) => PgliteStore.layer({ dataDir: "memory://", dimensions })
    })
  ),
  Layer.provideMerge(NodeHttpServer.layerTest),
  Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env)))))
  )
}

export interface JsonResponse {
  readonly status: number
  readonly body: any
}

const toJson = (response: HttpClientResponse.HttpClientResponse) =>
  Effect.map(response.text, (text): JsonResponse => ({ status: response.status, body: text.length > 0 ? JSON.parse(text) : undefined }))

export const post = (path: string, body: unknown) =>
  HttpClient.execute(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyUnsafeJson(body))).pipe(Effect.flatMap(toJson))

export const postRaw = (path: string, text: string, contentType = "application/json") =>
  HttpClient.execute(HttpClientRequest.post(path).pipe(HttpClientRequest.bodyText(text, contentType))).pipe(Effect.flatMap(toJson))

export const get = (path: string) => HttpClient.execute(HttpClientRequest.get(path)).pipe(Effect.flatMap(toJson))

export const del = (path: string) => HttpClient.execute(HttpClientRequest.del(path)).pipe(Effect.flatMap(toJson))

export const send = (method: "PUT" | "PATCH" | "POST" | "DELETE" | "GET", path: string, body?: unknown) =>
  HttpClient.execute(
    (body === undefined ? HttpClientRequest.make(method)(path) : HttpClientRequest.make(method)(path).pipe(HttpClientRequest.bodyUnsafeJson(body)))
  ).pipe(Effect.flatMap(toJson))

export const withBearer = (method: "GET" | "POST" | "PUT" | "DELETE", path: string, key: string | undefined, body?: unknown) => {
  let request = HttpClientRequest.make(method)(path)
  if (key !== undefined) request = HttpClientRequest.bearerToken(request, key)
  if (body !== undefined) request = HttpClientRequest.bodyUnsafeJson(request, body)
  return HttpClient.execute(request).pipe(Effect.flatMap(toJson))
}
