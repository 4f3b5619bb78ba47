/**
 * The memory's MCP tools. Inputs are the domain request Schemas (the same ones
 * that validate HTTP bodies), with descriptions written for a model; each tool
 * is one Memory call in the namespace the caller may use.
 */
import { Effect, Schema } from "effect"
import { ContextRequest, ContextResponse } from "../domain/Context.ts"
import { DocumentRequest, DocumentResult } from "../domain/Document.ts"
import { Deleted, DeleteWhereRequest } from "../domain/DeleteWhere.ts"
import { KvEntry, KvKey, KvPutRequest } from "../domain/KeyValue.ts"
import { MemoryId, Namespace, SessionId, StoredMemory, StoreMemoryRequest } from "../domain/Memory.ts"
import { SearchRequest, SearchResponse } from "../domain/Search.ts"
import { AddMessageRequest, History, Message } from "../domain/Session.ts"
import { orderedRange } from "../domain/TimeRange.ts"
import { type McpTool, tool } from "./McpTool.ts"

const NAMESPACE = "Namespace (a tenant, project or user) to work in. Omit it to use the default: " +
  "the API key's only namespace, else \"default\"."
const FILTER = "Metadata filter: {field: value} for equality, or per field an object of operators " +
  "$eq $ne $gt $gte $lt $lte $in $nin $exists $contains; combine filters with $and, $or, $not. " +
  "Dotted names reach nested fields. Example: {\"project\": \"apollo\", \"priority\": {\"$gte\": 2}}."
const TAGS_FILTER = "Only records carrying these tags (all of them, unless tagMatch is \"any\")."
const KINDS = "Only these kinds: memory (personal facts), knowledge (document chunks), message (chat history)."
const SESSION = "A conversation's id: its messages form its history."
const SINCE = "Only records from this time on (their occurredAt, else when stored): ISO 8601, e.g. 2024-05-01."
const UNTIL = "Only records up to this time (inclusive): ISO 8601, e.g. 2024-05-31T23:59:59Z."

const remember = tool({
  name: "remember",
  title: "Remember",
  description: "Store a memory: a fact, preference, decision or event worth recalling later, in one or a few " +
    "self-contained sentences. Identical content in the same namespace is stored once (the answer says " +
    "`deduplicated: true`). Returns the stored record; its `id` is what `forget` and memory:// resources use.",
  input: StoreMemoryRequest,
  descriptions: {
    content: "The text to remember, written so that it makes sense on its own later.",
    namespace: NAMESPACE,
    sessionId: "The conversation this memory came from, if any.",
    kind: "memory (default): about the user or the work; knowledge: reference material; message: a chat turn.",
    tags: "Short labels to find or forget it by later, e.g. [\"preference\", \"food\"].",
    metadata: "Any JSON object of extra fields (source, project, priority…), searchable with a filter.",
    ttlSeconds: "Forget it automatically after this many seconds. Omit to keep it until forgotten.",
    id: "Your own id for it; omit to get a generated one. Storing a different text under an existing id is an error.",
    occurredAt: "When it happened, if not now: an ISO 8601 date or date-time (2024-05-01, 2024-05-01T12:30:00Z). " +
      "Searches by time (since/until) and the recency boost go by it."
  },
  output: StoredMemory,
  run: (memory, input, namespace) => memory.store({ ...input, namespace })
})

const search = tool({
  name: "search",
  title: "Search memories",
  description: "Find stored memories, knowledge and messages relevant to a query. `vector` mode (default) " +
    "matches meaning, `keyword` matches words, `hybrid` fuses both (best for names, codes and rare terms). " +
    "Returns hits best first, each with its id, content, score (0-1), kind, tags and metadata.",
  input: SearchRequest,
  descriptions: {
    query: "What to look for, in natural language or keywords.",
    namespace: NAMESPACE,
    k: "How many hits at most (default 10).",
    minScore: "Leave out hits scoring below this (0-1).",
    mode: "vector (by meaning, default), keyword (by words) or hybrid (both).",
    filter: FILTER,
    tags: TAGS_FILTER,
    tagMatch: "With tags: \"all\" (default) or \"any\" of them.",
    kinds: KINDS,
    sessionId: "Only records of this conversation.",
    since: SINCE,
    until: UNTIL,
    recency: "Favour recent records: {\"halfLifeDays\": 30} halves the boost every 30 days; " +
      "\"weight\" (default 1) sets how much recency counts against relevance."
  },
  output: SearchResponse,
  run: (memory, input, namespace) => memory.search({ ...input, namespace })
})

const getContext = tool({
  name: "get_context",
  title: "Get context for a question",
  description: "Build the context to answer a question from memory, within a token budget: what is known " +
    "about the user, relevant knowledge cited as [1], [2]… with its sources listed, and the conversation so far " +
    "when a sessionId is given. Use it before answering a question that may depend on what was remembered. " +
    "Returns `text` (ready to read) and `sources` (the id of each cited record).",
  input: ContextRequest,
  descriptions: {
    query: "The question or task the context is for.",
    namespace: NAMESPACE,
    sessionId: "Include this conversation's recent messages.",
    maxTokens: "Token budget for the whole text (default 2000).",
    personalWeight: "Share of the budget for personal memories (0-1, default 0.4).",
    knowledgeWeight: "Share of the budget for knowledge (0-1, default 0.6).",
    historyLimit: "At most this many recent messages of the session (default 10).",
    includeSources: "List the sources of cited knowledge (default true).",
    minScore: "Leave out records scoring below this (0-1).",
    conversationWeight: "Share of the budget for earlier turns of the conversation that the query finds (0-1, default 0.4).",
    searchMessages: "Where to look for relevant earlier turns: namespace (all conversations, default), session (this one) or none.",
    since: SINCE,
    until: UNTIL,
    template: "Your own layout, with the placeholders {{query}} {{now}} {{memories}} {{knowledge}} {{earlier}} {{history}} {{sources}}."
  },
  output: ContextResponse,
  run: (memory, input, namespace) => memory.context({ ...input, namespace })
})

// One record by id, or what a DeleteWhereRequest selects: one object (clients want an object schema, not a union).
const ForgetInput = Schema.Struct({ id: Schema.optional(MemoryId), ...DeleteWhereRequest.fields }).pipe(
  Schema.filter((f) => {
    const selects = f.filter !== undefined || f.kinds !== undefined || f.tags !== undefined || f.sessionId !== undefined ||
      f.since !== undefined || f.until !== undefined
    if (f.id !== undefined && selects) return "give either an id or a selection (filter, kinds, tags, sessionId, since/until), not both"
    return f.id !== undefined || selects ||
      "say what to forget: an id, or a filter, kinds, tags, a sessionId or since/until (the whole namespace needs {\"filter\": {}})"
  }),
  Schema.filter(orderedRange)
)

const forget = tool({
  name: "forget",
  title: "Forget memories",
  description: "Delete memories for good: one by its id, or every record a selection matches (a metadata " +
    "filter, kinds, tags, a session). Answers how many records were deleted; an id that does not exist is an error.",
  input: ForgetInput,
  descriptions: {
    id: "The id of the one record to delete. Give either an id or a selection (filter, kinds, tags, sessionId).",
    namespace: NAMESPACE,
    filter: `${FILTER} Everything it selects is deleted; {} selects the whole namespace.`,
    kinds: KINDS,
    tags: "Delete records carrying all these tags.",
    sessionId: "Delete the records of this conversation.",
    since: "Delete records from this time on (their occurredAt, else when stored): ISO 8601.",
    until: "Delete records up to this time (inclusive): ISO 8601."
  },
  output: Deleted,
  run: (memory, { id, ...selection }, namespace) =>
    id === undefined
      ? Effect.map(memory.deleteWhere({ ...selection, namespace }), (deleted) => ({ deleted }))
      : Effect.as(memory.delete(id, namespace), { deleted: 1 })
})

const KEY = "The name the value is filed under, e.g. \"user.timezone\"."

const kvSet = tool({
  name: "kv_set",
  title: "Set a named value",
  description: "Remember a value under a name, replacing what was there: settings, counters, a user's " +
    "timezone, the state of a task. Any JSON value. Read it back exactly with kv_get (no search involved).",
  input: Schema.Struct({ key: KvKey, ...KvPutRequest.fields }),
  descriptions: {
    key: KEY,
    value: "Any JSON value: a string, number, boolean, array or object.",
    namespace: NAMESPACE,
    ttlSeconds: "Forget it automatically after this many seconds."
  },
  output: KvEntry,
  run: (memory, { key, ...request }, namespace) => memory.remember(key, { ...request, namespace })
})

const kvGet = tool({
  name: "kv_get",
  title: "Get a named value",
  description: "Read the value stored under a name with kv_set. A name with nothing under it is an error.",
  input: Schema.Struct({ key: KvKey, namespace: Schema.optional(Namespace) }),
  descriptions: { key: KEY, namespace: NAMESPACE },
  output: KvEntry,
  run: (memory, { key }, namespace) => memory.recall(key, namespace)
})

const addMessage = tool({
  name: "add_message",
  title: "Add a chat message",
  description: "Append a message to a conversation's history (a session), so get_history and get_context " +
    "can bring it back later. Messages are searchable too (kind \"message\").",
  input: Schema.Struct({ sessionId: SessionId, ...AddMessageRequest.fields }),
  descriptions: {
    sessionId: SESSION,
    role: "Who said it: user, assistant, system or tool.",
    content: "The message text.",
    namespace: NAMESPACE,
    metadata: "Any JSON object of extra fields.",
    occurredAt: "When it was said, if not now: ISO 8601 (e.g. 2024-05-01T12:30:00Z)."
  },
  output: Message,
  run: (memory, { sessionId, ...request }, namespace) => memory.addMessage(sessionId, { ...request, namespace })
})

const getHistory = tool({
  name: "get_history",
  title: "Get a conversation's history",
  description: "The latest messages of a conversation (session), oldest first.",
  input: Schema.Struct({
    sessionId: SessionId,
    namespace: Schema.optional(Namespace),
    limit: Schema.optional(Schema.Int.pipe(Schema.between(1, 1000, { message: () => "limit must be a whole number from 1 to 1000" })))
  }),
  descriptions: { sessionId: SESSION, namespace: NAMESPACE, limit: "At most this many of the latest messages (default 50)." },
  output: History,
  run: (memory, { sessionId, limit }, namespace) => memory.history(sessionId, { namespace, limit })
})

const ingestDocument = tool({
  name: "ingest_document",
  title: "Ingest a document",
  description: "Store a long text (notes, a page, a file's contents) as knowledge: it is split into " +
    "overlapping chunks that search and get_context find and cite by title and source. Ingesting the same " +
    "id again replaces the document's chunks. Returns the document id and its number of chunks.",
  input: DocumentRequest,
  descriptions: {
    content: "The document's full text.",
    id: "The document's id; re-ingesting it replaces the old chunks. Omit to get a generated one.",
    title: "A title, shown when the document is cited.",
    source: "Where it comes from (a URL or a path), shown when it is cited.",
    type: "What kind of document it is (e.g. \"markdown\", \"email\").",
    metadata: "Any JSON object of extra fields, copied to every chunk.",
    tags: "Labels copied to every chunk.",
    chunkSize: "Characters per chunk (default 1000).",
    chunkOverlap: "Characters shared by neighbouring chunks (default 150, less than half of chunkSize).",
    namespace: NAMESPACE
  },
  output: DocumentResult,
  run: (memory, input, namespace) => memory.ingestDocument({ ...input, namespace })
})

export const tools: ReadonlyArray<McpTool> = [
  remember,
  search,
  getContext,
  forget,
  kvSet,
  kvGet,
  addMessage,
  getHistory,
  ingestDocument
]
