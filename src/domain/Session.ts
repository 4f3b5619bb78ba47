/** Chat history: messages of a session, stored as `message` records. */
import { Schema } from "effect"
import { Content, Metadata, Namespace } from "./Memory.ts"

export const MessageRole = Schema.Literal("user", "assistant", "system", "tool")
export type MessageRole = typeof MessageRole.Type

export class AddMessageRequest extends Schema.Class<AddMessageRequest>("AddMessageRequest")({
  role: MessageRole,
  content: Content,
  namespace: Schema.optional(Namespace),
  metadata: Schema.optional(Metadata)
}) {}

export class Message extends Schema.Class<Message>("Message")({
  id: Schema.String,
  sessionId: Schema.String,
  role: MessageRole,
  content: Schema.String,
  metadata: Schema.Record({ key: Schema.String, value: Schema.Unknown }),
  createdAt: Schema.Date
}) {}

export class History extends Schema.Class<History>("History")({
  sessionId: Schema.String,
  /** Oldest first. */
  messages: Schema.Array(Message)
}) {}
