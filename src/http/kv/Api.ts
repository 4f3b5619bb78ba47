/** Key/value facts: remember, recall, forget. Paths are under /v1 (Api.ts). */
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { KeyNotFound } from "../../domain/errors.ts"
import { KvEntry, KvKey, KvPutRequest } from "../../domain/KeyValue.ts"
import { NamespaceQuery } from "../params.ts"

const KeyPath = Schema.Struct({ key: KvKey })

export class KeyValueApi extends HttpApiGroup.make("kv")
  .add(
    HttpApiEndpoint.put("remember", "/kv/:key")
      .setPath(KeyPath)
      .setPayload(KvPutRequest)
      .addSuccess(KvEntry)
      .annotate(OpenApi.Summary, "Remember a value under a key (namespace in the body)")
  )
  .add(
    HttpApiEndpoint.get("recall", "/kv/:key")
      .setPath(KeyPath)
      .setUrlParams(NamespaceQuery)
      .addSuccess(KvEntry)
      .addError(KeyNotFound)
      .annotate(OpenApi.Summary, "Recall the value under a key")
  )
  .add(
    HttpApiEndpoint.del("forget", "/kv/:key")
      .setPath(KeyPath)
      .setUrlParams(NamespaceQuery)
      .addSuccess(HttpApiSchema.NoContent)
      .addError(KeyNotFound)
      .annotate(OpenApi.Summary, "Forget a key")
  )
{}
