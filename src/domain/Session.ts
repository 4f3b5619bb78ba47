/** Chat history: messages of a session, stored as `message` records. */
import { Schema } from "effect"
import { constructorCheck, validationDisabled } from "./ConstructorCheck.ts"
import { Content, Metadata, Namespace } from "./Memory.ts"
import { strictStruct } from "./Strict.ts"
import { Instant } from "./TimeRange.ts"

export const MessageRole = Schema.Literal("user", "assistant", "system", "tool")
export type MessageRole = typeof MessageRole.Type

const AddMessageRequestFields = strictStruct({
  role: MessageRole,
  content: Content,
  namespace: Schema.optional(Namespace),
  metadata: Schema.optional(Metadata),
  /** When it was said, if not now (ISO 8601): an imported conversation keeps its times and its order. */
  occurredAt: Schema.optional(Instant)
})
// occurredAt is an ISO string on the wire: the constructor's check is built once (ConstructorCheck.ts).
const checkAddMessageRequest = constructorCheck(AddMessageRequestFields, "AddMessageRequest")

export class AddMessageRequest extends Schema.Class<AddMessageRequest>("AddMessageRequest")(AddMessageRequestFields) {
  constructor(props: typeof AddMessageRequestFields.Type, options?: Schema.MakeOptions) {
    super(validationDisabled(options) ? props : checkAddMessageRequest(props), true)
  }
}

export class Message extends Schema.Class<Message>("Message")({
  id: Schema.String,
  sessionId: Schema.String,
  role: MessageRole,
  content: Schema.String,
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  createdAt: Schema.Date,
  /** When it was said, when the caller gave a time; else null (it was said when stored). */
  occurredAt: Schema.NullOr(Schema.Date)
}) {}

export class History extends Schema.Class<History>("History")({
  sessionId: Schema.String,
  /** Oldest first. */
  messages: Schema.Array(Message)
}) {}
