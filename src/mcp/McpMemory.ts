/**
 * The memory as an MCP server (the official SDK's `Server`), over the same
 * Memory service as the HTTP API. `make(tenant)` answers a server confined to
 * the tenant's namespaces: one for the stdio process, one per request over
 * Streamable HTTP.
 *
 * The SDK's high-level McpServer takes zod schemas; our inputs are Effect
 * Schemas published through JSONSchema.make, so the tools are served with the
 * low-level request handlers. This is the Effect → Promise edge: the Runtime is
 * taken once, here, and every SDK callback runs its Effect through it.
 */
import { Server } from "@modelcontextprotocol/sdk/server/index.js"
import {
  CallToolRequestSchema,
  type CallToolResult,
  ErrorCode,
  GetPromptRequestSchema,
  ListPromptsRequestSchema,
  ListResourcesRequestSchema,
  ListResourceTemplatesRequestSchema,
  ListToolsRequestSchema,
  McpError,
  ReadResourceRequestSchema
} from "@modelcontextprotocol/sdk/types.js"
import { Effect, Either, Runtime, type Tracer } from "effect"
import { Tenant, type TenantShape } from "../http/Auth.ts"
import { Memory } from "../memory/Memory.ts"
import { answerFromMemory, getPrompt } from "./McpPrompts.ts"
import { readResource, resourceTemplates } from "./McpResources.ts"
import type { McpTool, ToolFailure } from "./McpTool.ts"
import { tools } from "./McpTools.ts"
import { traced } from "./toolTelemetry.ts"

export const SERVER_INFO = { name: "agent-memory", title: "agent-memory", version: "0.1.0" } as const

const INSTRUCTIONS = "Long-term memory for this conversation and the ones before it. Call get_context " +
  "before answering a question that may depend on what you were told earlier; remember durable facts, " +
  "preferences and decisions as they come up (one self-contained statement each); ingest_document for long " +
  "reference text; forget what the user asks you to forget. Errors come back as tool errors naming the problem."

const byName = new Map(tools.map((t) => [t.name, t]))

const failureText = (failure: ToolFailure) => JSON.stringify({ _tag: failure._tag, message: failure.message })

const toolError = (text: string): CallToolResult => ({ isError: true, content: [{ type: "text", text }] })

/** A typed failure outside tools/call, as a JSON-RPC error (what the protocol prescribes for resources and prompts). */
const protocolError = (failure: ToolFailure) =>
  new McpError(
    failure._tag === "MemoryNotFound" ? -32002 : failure._tag === "InvalidInput" || failure._tag === "Forbidden"
      ? ErrorCode.InvalidParams
      : ErrorCode.InternalError,
    `${failure._tag}: ${failure.message}`,
    { _tag: failure._tag }
  )

export class McpMemory extends Effect.Service<McpMemory>()("agent-memory/McpMemory", {
  effect: Effect.gen(function*() {
    const memory = yield* Memory
    const runtime = yield* Effect.runtime<never>()

    const callTool = (tool: McpTool, args: unknown): Effect.Effect<CallToolResult, never, Tenant> =>
      tool.call(memory, args).pipe(
        traced(tool.name),
        Effect.map(({ value }): CallToolResult => ({ content: [{ type: "text", text: JSON.stringify(value) }], structuredContent: value })),
        Effect.catchAll((failure) => Effect.succeed(toolError(failureText(failure)))),
        // A bug must not end the session either: the client sees a tool error, the log has the cause.
        Effect.catchAllCause((cause) =>
          Effect.as(
            Effect.logError(`MCP tool ${tool.name} failed unexpectedly`, cause),
            toolError(failureText({ _tag: "InternalError", message: `${tool.name} failed unexpectedly; the server log has the details` }))
          )
        )
      )

    const make = (tenant: TenantShape, parent?: Tracer.AnySpan): Server => {
      const run = <A, E>(effect: Effect.Effect<A, E, Tenant>, signal: AbortSignal) =>
        Runtime.runPromise(runtime)(
          effect.pipe(
            Effect.either,
            Effect.provideService(Tenant, tenant),
            (self) => (parent === undefined ? self : Effect.withParentSpan(self, parent))
          ),
          { signal }
        )
      const orThrow = async <A>(answer: Promise<Either.Either<A, ToolFailure>>): Promise<A> => {
        const outcome = await answer
        if (Either.isLeft(outcome)) throw protocolError(outcome.left)
        return outcome.right
      }

      const server = new Server(SERVER_INFO, {
        capabilities: { tools: { listChanged: false }, resources: { listChanged: false }, prompts: { listChanged: false } },
        instructions: INSTRUCTIONS
      })
      server.setRequestHandler(ListToolsRequestSchema, () => ({
        tools: tools.map((t) => ({
          name: t.name,
          title: t.title,
          description: t.description,
          inputSchema: t.inputSchema,
          outputSchema: t.outputSchema
        }))
      }))
      server.setRequestHandler(CallToolRequestSchema, async (request, extra) => {
        const tool = byName.get(request.params.name)
        // An unknown tool is a protocol error (the spec's -32602), not a tool error.
        if (tool === undefined) {
          throw new McpError(ErrorCode.InvalidParams, `unknown tool ${JSON.stringify(request.params.name)} (known: ${[...byName.keys()].join(", ")})`)
        }
        const answer = await run(callTool(tool, request.params.arguments), extra.signal)
        return Either.getOrThrow(answer)
      })
      server.setRequestHandler(ListResourcesRequestSchema, () => ({ resources: [] }))
      server.setRequestHandler(ListResourceTemplatesRequestSchema, () => ({ resourceTemplates: [...resourceTemplates] }))
      server.setRequestHandler(ReadResourceRequestSchema, (request, extra) =>
        orThrow(run(readResource(memory, request.params.uri), extra.signal)))
      server.setRequestHandler(ListPromptsRequestSchema, () => ({
        prompts: [{ ...answerFromMemory, arguments: [...answerFromMemory.arguments] }]
      }))
      server.setRequestHandler(GetPromptRequestSchema, (request, extra) => {
        if (request.params.name !== answerFromMemory.name) {
          throw new McpError(ErrorCode.InvalidParams, `unknown prompt ${JSON.stringify(request.params.name)} (known: ${answerFromMemory.name})`)
        }
        return orThrow(run(getPrompt(memory, request.params.arguments), extra.signal))
      })
      return server
    }

    return { make } as const
  })
}) {}
