/**
 * The HTTP contract, declared once with @effect/platform's HttpApi: the server
 * implements it (Handlers.ts), /openapi.json is derived from it, and a typed
 * client can be made from it with HttpApiClient.
 */
import { HttpApi, HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { DimensionMismatch, EmbeddingFailed, IdConflict, MemoryNotFound, StoreUnavailable } from "../domain/errors.ts"
import { MemoryRecord, Namespace, StoredMemory, StoreMemoryRequest } from "../domain/Memory.ts"
import { SearchRequest, SearchResponse } from "../domain/Search.ts"

const IdPath = Schema.Struct({ id: Schema.String })
const NamespaceParam = Schema.Struct({ namespace: Schema.optional(Namespace) })

export class MemoriesApi extends HttpApiGroup.make("memories")
  .add(
    HttpApiEndpoint.post("store", "/v1/memories")
      .setPayload(StoreMemoryRequest)
      .addSuccess(StoredMemory, { status: 201 })
      .addError(IdConflict)
      .annotate(OpenApi.Summary, "Store a memory (deduplicated by content within its namespace)")
  )
  .add(
    HttpApiEndpoint.get("get", "/v1/memories/:id")
      .setPath(IdPath)
      .setUrlParams(NamespaceParam)
      .addSuccess(MemoryRecord)
      .addError(MemoryNotFound)
      .annotate(OpenApi.Summary, "Get a memory by id")
  )
  .add(
    HttpApiEndpoint.del("delete", "/v1/memories/:id")
      .setPath(IdPath)
      .setUrlParams(NamespaceParam)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(MemoryNotFound)
      .annotate(OpenApi.Summary, "Delete a memory by id")
  )
  .addError(StoreUnavailable)
  .addError(EmbeddingFailed)
  .addError(DimensionMismatch)
{}

export class SearchApi extends HttpApiGroup.make("search")
  .add(
    HttpApiEndpoint.post("search", "/v1/search")
      .setPayload(SearchRequest)
      .addSuccess(SearchResponse)
      .annotate(OpenApi.Summary, "Find memories by meaning")
  )
  .addError(StoreUnavailable)
  .addError(EmbeddingFailed)
  .addError(DimensionMismatch)
{}

export const Health = Schema.Struct({ status: Schema.Literal("ok") })
export const Readiness = Schema.Struct({
  status: Schema.Literal("ready"),
  store: Schema.String,
  embedder: Schema.String,
  dimensions: Schema.Number
})

export class SystemApi extends HttpApiGroup.make("system")
  .add(HttpApiEndpoint.get("health", "/health").addSuccess(Health).annotate(OpenApi.Summary, "Liveness"))
  .add(
    HttpApiEndpoint.get("ready", "/ready")
      .addSuccess(Readiness)
      .addError(StoreUnavailable)
      .annotate(OpenApi.Summary, "Readiness: the store answers and its schema is in place")
  )
{}

export class Api extends HttpApi.make("agent-memory")
  .add(MemoriesApi)
  .add(SearchApi)
  .add(SystemApi)
  .annotate(OpenApi.Title, "agent-memory")
  .annotate(OpenApi.Description, "Memory for AI agents: store records with embeddings, find them again by meaning.")
{}
