/**
 * `agent-memory mcp`: the MCP server on stdin/stdout, as desktop clients launch
 * it. stdout carries only JSON-RPC, so the process's logs go to stderr. The
 * process is a local tool like the rest of the CLI: it may use every namespace
 * (API keys guard the HTTP server). It serves until the client closes stdin or
 * the process is told to stop.
 */
import { StdioServerTransport } from "@modelcontextprotocol/sdk/server/stdio.js"
import { Effect, Logger } from "effect"
import type { TenantShape } from "../http/Auth.ts"
import { McpMemory } from "./McpMemory.ts"
import { McpTransportError } from "./McpTransportError.ts"

const local: TenantShape = { namespaces: "all" }

/** Log lines to stderr: a line on stdout would corrupt the protocol stream. */
export const stderrLogger = Logger.replace(Logger.defaultLogger, Logger.withConsoleError(Logger.defaultLogger))

export const serve: Effect.Effect<void, McpTransportError, McpMemory> = Effect.scoped(
  Effect.gen(function*() {
    const mcp = yield* McpMemory
    const server = mcp.make(local)
    const closed = Effect.async<void>((resume) => {
      server.onclose = () => resume(Effect.void)
      // The SDK's transport does not notice the end of its input: a client that closes stdin is done.
      const end = () => void server.close()
      process.stdin.once("end", end)
      return Effect.sync(() => process.stdin.off("end", end))
    })
    yield* Effect.acquireRelease(
      Effect.tryPromise({
        try: () => server.connect(new StdioServerTransport()),
        catch: (e) => new McpTransportError({ message: `cannot start the stdio transport: ${(e as Error).message}` })
      }),
      () => Effect.promise(() => server.close())
    )
    yield* Effect.logDebug("MCP server on stdio")
    yield* closed
  })
)
