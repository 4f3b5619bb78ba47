/**
 * The MCP prompt `answer_from_memory`: get_context for a question, wrapped as a
 * user message that asks for an answer grounded in it. Prompt arguments arrive
 * as strings, so maxTokens is decoded from its digits.
 */
import { Effect, Schema } from "effect"
import { ContextRequest } from "../domain/Context.ts"
import type { Tenant } from "../http/Auth.ts"
import { resolveNamespace } from "../http/TenantNamespace.ts"
import type { Memory } from "../memory/Memory.ts"
import { invalidInput, type ToolFailure } from "./McpTool.ts"

export const answerFromMemory = {
  name: "answer_from_memory",
  title: "Answer from memory",
  description: "Answer a question using what the memory holds: the relevant memories, knowledge (cited as [n]) " +
    "and, with a sessionId, the conversation so far.",
  arguments: [
    { name: "question", description: "The question to answer.", required: true },
    { name: "namespace", description: "The namespace to draw on (default: the API key's, else \"default\").", required: false },
    { name: "sessionId", description: "A conversation whose recent messages to include.", required: false },
    { name: "maxTokens", description: "Token budget for the context (default 2000).", required: false }
  ]
} as const

const PromptArguments = Schema.Struct({
  question: ContextRequest.fields.query,
  namespace: ContextRequest.fields.namespace,
  sessionId: ContextRequest.fields.sessionId,
  maxTokens: Schema.optional(Schema.compose(Schema.NumberFromString, Schema.typeSchema(ContextRequest.fields.maxTokens.from)))
})

const INSTRUCTION = "Answer the question below from the context my memory holds. Cite knowledge as [n] " +
  "where you use it, and say so plainly when the context does not hold the answer."

export const getPrompt = (memory: Memory, args: unknown) =>
  Effect.gen(function*() {
    const input = yield* Effect.mapError(Schema.decodeUnknown(PromptArguments, { onExcessProperty: "error" })(args ?? {}), invalidInput)
    const namespace = yield* resolveNamespace(input.namespace)
    const context = yield* memory.context({ query: input.question, namespace, sessionId: input.sessionId, maxTokens: input.maxTokens })
    return {
      description: `Context from memory (${context.tokenCount} tokens, ${context.sources.length} sources) for: ${input.question}`,
      messages: [{
        role: "user" as const,
        content: { type: "text" as const, text: `${INSTRUCTION}\n\n${context.text}\n\nQuestion: ${input.question}` }
      }]
    }
  }).pipe(
    Effect.withSpan("mcp.prompt", { attributes: { "mcp.prompt.name": answerFromMemory.name }, captureStackTrace: false })
  ) satisfies Effect.Effect<unknown, ToolFailure, Tenant>
