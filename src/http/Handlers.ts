/**
 * The API implemented: every route group (the Http.ts file of each group folder) with what they
 * share: API keys, the request body reader, and the one-line InvalidInput for
 * a path or query parameter that does not decode.
 */
import { HttpApiBuilder, HttpApiError } from "@effect/platform"
import { Cause, Effect, Layer, Option } from "effect"
import { describeIssue } from "../domain/describeParseError.ts"
import { InvalidInput } from "../domain/errors.ts"
import { Api } from "./Api.ts"
import * as Auth from "./Auth.ts"
import { DocumentsLive } from "./documents/Http.ts"
import { KeyValueLive } from "./kv/Http.ts"
import { MemoriesLive } from "./memories/Http.ts"
import { MetricsLive, ObservabilityLive } from "./observability/Http.ts"
import * as RequestBody from "./RequestBody.ts"
import { SearchLive } from "./search/Http.ts"
import { SessionsLive } from "./sessions/Http.ts"
import { SystemLive } from "./system/Http.ts"

/** Bodies are decoded by RequestBody; what HttpApi still decodes (path, query) fails here, as InvalidInput. */
const toInvalidInput = (error: HttpApiError.HttpApiDecodeError) => {
  const issue = error.issues[0]
  if (!issue) return new InvalidInput({ message: error.message.split("\n")[0]! })
  const field = issue.path.map(String).join(".")
  const message = issue._tag === "Unexpected"
    ? `${field}: unknown query parameter${field === "namespace" ? " (this route takes namespace in its JSON body)" : ""}`
    : describeIssue(issue, "parameter")
  return new InvalidInput({ message, field })
}

// HttpApp.Default types its failures as never; the decode error is still in the cause.
const DecodeErrorsLive = HttpApiBuilder.middleware(Api, (app) =>
  Effect.catchAllCause(app, (cause) => {
    const failure: Option.Option<unknown> = Cause.failureOption(cause as Cause.Cause<unknown>)
    return Option.isSome(failure) && failure.value instanceof HttpApiError.HttpApiDecodeError
      ? Effect.fail(toInvalidInput(failure.value))
      : Effect.failCause(cause)
  }))

export const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([MemoriesLive, SearchLive, DocumentsLive, KeyValueLive, SessionsLive, ObservabilityLive, MetricsLive, SystemLive]),
  Layer.provide(DecodeErrorsLive),
  Layer.provide([Auth.layer, RequestBody.layer])
)
