/**
 * What every agent-memory process runs under: MEMORY_CONFIG's file beneath the
 * environment, telemetry (OTLP export when OTEL_EXPORTER_OTLP_ENDPOINT is set; no spans made without it),
 * Node's platform services, and a failed start reported in one line (exit 1).
 */
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Logger, type LogLevel } from "effect"
import * as Telemetry from "../otel/Telemetry.ts"
import * as ConfigFile from "../src/config/ConfigFile.ts"
import { describeStartupFailure } from "../src/config/StartupFailure.ts"

export interface ProcessOptions {
  readonly logLevel: LogLevel.LogLevel
  /** Failures already reported (e.g. @effect/cli's usage errors): exit with this code, print nothing. */
  readonly reported?: ((error: unknown) => number | undefined) | undefined
}

export const runMain = <E>(program: Effect.Effect<unknown, E, NodeContext.NodeContext>, options: ProcessOptions): void =>
  program.pipe(
    // Built before the program, so the program's spans and metrics are exported (and flushed at exit).
    Effect.provide(Telemetry.processLayerConfig()),
    // First of all: MEMORY_CONFIG's file under the environment, for telemetry and everything else.
    Effect.provide(ConfigFile.layer),
    Effect.catchAll((error: unknown) => {
      const code = options.reported?.(error)
      return code !== undefined
        ? Effect.sync(() => void (process.exitCode = code))
        : Console.error(`agent-memory: ${describeStartupFailure(error)}`).pipe(
          Effect.zipRight(Effect.sync(() => void (process.exitCode = 1)))
        )
    }),
    Effect.provide(NodeContext.layer),
    Logger.withMinimumLogLevel(options.logLevel),
    NodeRuntime.runMain
  )
