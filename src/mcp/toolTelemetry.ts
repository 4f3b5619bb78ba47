/**
 * Every MCP tool call is a span `mcp.tool` (with the tool's name, and the
 * namespace the tool settles) and is counted by tool and outcome: `ok`, `error`
 * (a typed failure answered as a tool error), `cancelled` (the client gave up)
 * or `defect` (a bug, answered as a tool error too).
 */
import { Cause, Effect, Exit, Metric } from "effect"

export const toolCalls = Metric.counter("agent_memory_mcp_tool_calls_total", {
  description: "MCP tool calls, by tool and outcome (ok, error, cancelled, defect)",
  incremental: true
})

export type ToolOutcome = "ok" | "error" | "cancelled" | "defect"

const outcomeOf = <A, E>(exit: Exit.Exit<A, E>): ToolOutcome =>
  Exit.isSuccess(exit)
    ? "ok"
    : Cause.isFailure(exit.cause)
    ? "error"
    : Cause.isInterruptedOnly(exit.cause)
    ? "cancelled"
    : "defect"

export const traced = (name: string) => <A, E, R>(self: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> =>
  self.pipe(
    Effect.onExit((exit) => {
      const outcome = outcomeOf(exit)
      return Effect.zipRight(
        Effect.annotateCurrentSpan("mcp.tool.outcome", outcome),
        Metric.update(toolCalls.pipe(Metric.tagged("tool", name), Metric.tagged("outcome", outcome)), 1)
      )
    }),
    Effect.withSpan("mcp.tool", { attributes: { "mcp.tool.name": name }, captureStackTrace: false })
  )
