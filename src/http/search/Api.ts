/** Search and prompt context. Paths are under /v1 (Api.ts). */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { ContextRequest, ContextResponse } from "../../domain/Context.ts"
import { RerankFailed } from "../../domain/errors.ts"
import { SearchRequest, SearchResponse } from "../../domain/Search.ts"

export class SearchApi extends HttpApiGroup.make("search")
  .add(
    HttpApiEndpoint.post("search", "/search")
      .setPayload(SearchRequest)
      .addSuccess(SearchResponse)
      .addError(RerankFailed)
      .annotate(OpenApi.Summary, "Find memories: by meaning (vector), by words (keyword), or both (hybrid)")
  )
  .add(
    HttpApiEndpoint.post("context", "/context")
      .setPayload(ContextRequest)
      .addSuccess(ContextResponse)
      .addError(RerankFailed)
      .annotate(OpenApi.Summary, "Build a prompt context for a query within a token budget")
  )
{}
