/** The `agent-memory` process: run the command line, report failures in one line. */
import { ValidationError } from "@effect/cli"
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Logger, LogLevel } from "effect"
import * as ConfigFile from "../config/ConfigFile.ts"
import { describeStartupFailure } from "../config/StartupFailure.ts"
import { optionsFirst } from "./argv.ts"
import { run } from "./Cli.ts"

// `bench` takes the benchmark's own flags (--quick, --rows N, …): hand them over untouched.
if (process.argv[2] === "bench") {
  process.argv.splice(2, 1)
  await import("../../bench/main.ts")
} else {
  main()
}

function main() {
  run(optionsFirst(process.argv)).pipe(
    Effect.catchAll((error) =>
      // @effect/cli has already printed its own usage errors.
      ValidationError.isValidationError(error)
        ? Effect.sync(() => void (process.exitCode = 2))
        : Console.error(`agent-memory: ${describeStartupFailure(error)}`).pipe(Effect.zipRight(Effect.sync(() => void (process.exitCode = 1))))
    ),
    Effect.provide(ConfigFile.layer),
    Effect.provide(NodeContext.layer),
    Logger.withMinimumLogLevel(process.argv[2] === "serve" ? LogLevel.Info : LogLevel.Warning),
    NodeRuntime.runMain
  )
}
