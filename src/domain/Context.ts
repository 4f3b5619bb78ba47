/** BuildContext: a prompt context for a query, within a token budget. */
import { Schema } from "effect"
import { constructorCheck, validationDisabled } from "./ConstructorCheck.ts"
import { MAX_QUERY_LENGTH, MemoryKind, Namespace, SessionId } from "./Memory.ts"
import { Message } from "./Session.ts"
import { storableText } from "./Storable.ts"
import { strict } from "./Strict.ts"
import { orderedRange, TimeRangeFields } from "./TimeRange.ts"

export const TEMPLATE_PLACEHOLDERS = ["query", "now", "memories", "knowledge", "earlier", "history", "sources"] as const

const weight = (name: string) =>
  Schema.Number.pipe(Schema.between(0, 1, { message: () => `${name} must be between 0 and 1` }))

const ContextRequestFields = strict(Schema.Struct({
  query: Schema.String.pipe(
    Schema.filter((s) => s.trim().length > 0, { message: () => "query must not be empty" }),
    Schema.maxLength(MAX_QUERY_LENGTH, { message: () => `query is at most ${MAX_QUERY_LENGTH} characters` }),
    storableText
  ),
  namespace: Schema.optional(Namespace),
  sessionId: Schema.optional(SessionId),
  maxTokens: Schema.optional(
    Schema.Int.pipe(Schema.between(50, 200_000, { message: () => "maxTokens must be a whole number from 50 to 200000" }))
  ),
  /** Share of the budget for personal memories, against knowledge. */
  personalWeight: Schema.optional(weight("personalWeight")),
  knowledgeWeight: Schema.optional(weight("knowledgeWeight")),
  /** Share for the relevant earlier turns of the conversation (messages found by the query). */
  conversationWeight: Schema.optional(weight("conversationWeight")),
  /**
   * Which messages the query searches for relevant earlier turns: the whole namespace's
   * conversations (default), only this session's, or none.
   */
  searchMessages: Schema.optional(Schema.Literal("namespace", "session", "none")),
  /** Only items whose time (occurredAt, else createdAt) is in this window, ISO 8601. */
  ...TimeRangeFields,
  historyLimit: Schema.optional(
    Schema.Int.pipe(Schema.between(0, 200, { message: () => "historyLimit must be a whole number from 0 to 200" }))
  ),
  includeSources: Schema.optional(Schema.Boolean),
  minScore: Schema.optional(Schema.Number.pipe(Schema.between(0, 1, { message: () => "minScore must be between 0 and 1" }))),
  /** With placeholders {{query}} {{now}} {{memories}} {{knowledge}} {{earlier}} {{history}} {{sources}}. */
  template: Schema.optional(
    Schema.String.pipe(
      Schema.maxLength(20_000),
      storableText,
      Schema.filter((t) => {
        const unknown = [...t.matchAll(/\{\{\s*([^}]*?)\s*\}\}/g)].map((m) => m[1]!).find((name) =>
          !(TEMPLATE_PLACEHOLDERS as ReadonlyArray<string>).includes(name)
        )
        return unknown === undefined ||
          `template: unknown placeholder {{${unknown}}} (known: ${TEMPLATE_PLACEHOLDERS.map((p) => `{{${p}}}`).join(" ")})`
      })
    )
  )
}).pipe(Schema.filter(orderedRange)))
// since/until are ISO strings on the wire: the constructor's check is built once (ConstructorCheck.ts).
const checkContextRequest = constructorCheck(ContextRequestFields, "ContextRequest")

export class ContextRequest extends Schema.Class<ContextRequest>("ContextRequest")(ContextRequestFields) {
  constructor(props: typeof ContextRequestFields.Type, options?: Schema.MakeOptions) {
    super(validationDisabled(options) ? props : checkContextRequest(props), true)
  }
}

export class ContextSource extends Schema.Class<ContextSource>("ContextSource")({
  /** The number the text cites, e.g. [1]. */
  ref: Schema.Int,
  id: Schema.String,
  kind: MemoryKind,
  score: Schema.Number,
  documentId: Schema.NullOr(Schema.String),
  title: Schema.NullOr(Schema.String),
  source: Schema.NullOr(Schema.String),
  position: Schema.NullOr(Schema.Int)
}) {}

/** One item the text holds: which record, in which section, of what time. */
export class ContextItem extends Schema.Class<ContextItem>("ContextItem")({
  id: Schema.String,
  section: Schema.Literal("memories", "knowledge", "earlier", "recent"),
  /** Its time as shown: occurredAt, else createdAt. */
  at: Schema.Date,
  /** The search score, for found items (null for the recent turns). */
  score: Schema.NullOr(Schema.Number)
}) {}

export class ContextResponse extends Schema.Class<ContextResponse>("ContextResponse")({
  text: Schema.String,
  sources: Schema.Array(ContextSource),
  /** Tokens of `text`, counted with the tokenizer (MEMORY_TOKENIZER). */
  tokenCount: Schema.Int,
  /** The recent turns in the text, oldest first. */
  history: Schema.Array(Message),
  /** The earlier turns the query found that are in the text, in the order they were said. */
  earlier: Schema.Array(Message),
  /** Every item in the text. */
  items: Schema.Array(ContextItem)
}) {}
