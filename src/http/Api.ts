/**
 * The HTTP contract, declared once with @effect/platform's HttpApi: the server
 * implements it (the Http.ts file of each group folder), /openapi.json is derived from it, and a
 * typed client can be made from it with HttpApiClient.
 *
 * `/v1`, its shared errors and its authorization are declared once, on
 * `V1Api`; the open routes (/health, /ready, /metrics) are added beside it.
 */
import { HttpApi, OpenApi } from "@effect/platform"
import {
  DimensionMismatch,
  EmbeddingFailed,
  Forbidden,
  InvalidInput,
  MethodNotAllowed,
  MisdirectedRequest,
  NotFound,
  PayloadTooLarge,
  ShuttingDown,
  StoreUnavailable,
  UnsupportedMediaType
} from "../domain/errors.ts"
import { MetricsApi, ObservabilityApi } from "../observability/ObservabilityApi.ts"
import { Authorization } from "./Auth.ts"
import { DocumentsApi } from "./documents/Api.ts"
import { KeyValueApi } from "./kv/Api.ts"
import { MemoriesApi } from "./memories/Api.ts"
import { SearchApi } from "./search/Api.ts"
import { SessionsApi } from "./sessions/Api.ts"
import { SystemApi } from "./system/Api.ts"

/** Every /v1 route: behind the API keys, with the errors any of them may answer. */
export class V1Api extends HttpApi.make("v1")
  .add(MemoriesApi)
  .add(SearchApi)
  .add(DocumentsApi)
  .add(KeyValueApi)
  .add(SessionsApi)
  .add(ObservabilityApi)
  .prefix("/v1")
  .middleware(Authorization)
  .addError(InvalidInput)
  .addError(Forbidden)
  .addError(PayloadTooLarge)
  .addError(StoreUnavailable)
  .addError(EmbeddingFailed)
  .addError(DimensionMismatch)
{}

export class Api extends HttpApi.make("agent-memory")
  .addHttpApi(V1Api)
  .add(MetricsApi)
  .add(SystemApi)
  // Answered by the edge (Edge.ts) before any route: declared so clients and /openapi.json know them.
  .addError(UnsupportedMediaType)
  .addError(NotFound)
  .addError(MethodNotAllowed)
  .addError(MisdirectedRequest)
  .addError(ShuttingDown)
  .annotate(OpenApi.Title, "agent-memory")
  .annotate(OpenApi.Description, "Memory for AI agents: store records with embeddings, find them again by meaning.")
{}
