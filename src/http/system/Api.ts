/** Liveness and readiness: open, outside /v1. */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { StoreUnavailable } from "../../domain/errors.ts"

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
