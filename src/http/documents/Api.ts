/** Documents: long text stored as knowledge chunks. Paths are under /v1 (Api.ts). */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { DocumentRequest, DocumentResult } from "../../domain/Document.ts"
import { IdConflict } from "../../domain/errors.ts"

export class DocumentsApi extends HttpApiGroup.make("documents")
  .add(
    HttpApiEndpoint.post("ingest", "/documents")
      .setPayload(DocumentRequest)
      .addSuccess(DocumentResult, { status: 201 })
      .addError(IdConflict)
      .annotate(OpenApi.Summary, "Store a document as knowledge chunks (re-ingesting an id replaces them)")
  )
{}
