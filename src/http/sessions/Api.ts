/** Chat sessions: add a message, read the history, clear it. Paths are under /v1 (Api.ts). */
import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Deleted } from "../../domain/DeleteWhere.ts"
import { IdConflict } from "../../domain/errors.ts"
import { Namespace, SessionId } from "../../domain/Memory.ts"
import { AddMessageRequest, History, Message } from "../../domain/Session.ts"
import { strictStruct } from "../../domain/Strict.ts"
import { TimeRangeFields } from "../../domain/TimeRange.ts"
import { NamespaceQuery } from "../params.ts"

const SessionPath = Schema.Struct({ id: SessionId })

const HistoryQuery = strictStruct({
  namespace: Schema.optional(Namespace),
  limit: Schema.optional(
    Schema.NumberFromString.pipe(Schema.int(), Schema.between(1, 1000, { message: () => "limit must be a whole number from 1 to 1000" }))
  ),
  /** Only messages said in this window (occurredAt, else when stored), ISO 8601. */
  ...TimeRangeFields
})

export class SessionsApi extends HttpApiGroup.make("sessions")
  .add(
    HttpApiEndpoint.post("addMessage", "/sessions/:id/messages")
      .setPath(SessionPath)
      .setPayload(AddMessageRequest)
      .addSuccess(Message, { status: 201 })
      .addError(IdConflict)
      .annotate(OpenApi.Summary, "Add a message to a session's history (namespace in the body)")
  )
  .add(
    HttpApiEndpoint.get("history", "/sessions/:id/messages")
      .setPath(SessionPath)
      .setUrlParams(HistoryQuery)
      .addSuccess(History)
      .annotate(OpenApi.Summary, "A session's latest messages, oldest first")
  )
  .add(
    HttpApiEndpoint.del("clear", "/sessions/:id/messages")
      .setPath(SessionPath)
      .setUrlParams(NamespaceQuery)
      .addSuccess(Deleted)
      .annotate(OpenApi.Summary, "Clear a session's history")
  )
{}
