/**
 * The `agent-memory` process (bin/agent-memory.mjs runs it): the command line
 * over the same stack and server layers as `npm start`, with telemetry, so every
 * command's spans are exported like the server's.
 */
import "./v8Flags.ts"
import { ValidationError } from "@effect/cli"
import { CommandExecutor } from "@effect/platform"
import { Effect, Layer, LogLevel } from "effect"
import { optionsFirst } from "../src/cli/argv.ts"
import { run } from "../src/cli/Cli.ts"
import { CliStack } from "../src/cli/CliStack.ts"
import * as AgentMemory from "./app.ts"
import * as Bench from "./bench.ts"
import { runMain } from "./process.ts"
import * as Server from "./server.ts"

const CliStackLive = Layer.effect(
  CliStack,
  Effect.map(CommandExecutor.CommandExecutor, (executor) =>
    CliStack.of({
      memory: (settings) => AgentMemory.layerConfig([], settings),
      server: Server.layerConfig,
      bench: (args) => Bench.run(args).pipe(Effect.provideService(CommandExecutor.CommandExecutor, executor))
    }))
)

// Commands that serve log their lines (the listening address, requests); the others print their answer only.
const LOGGING_COMMANDS = new Set(["serve"])

const argv = optionsFirst(process.argv)

// `bench` takes the benchmark's own flags (--quick, --rows N, …): hand them over untouched.
const program = process.argv[2] === "bench"
  ? Effect.flatMap(CliStack, (stack) => stack.bench(process.argv.slice(3))).pipe(
    Effect.flatMap((code) => Effect.sync(() => void (process.exitCode = code)))
  )
  : run(argv)

runMain(program.pipe(Effect.provide(CliStackLive)), {
  logLevel: LOGGING_COMMANDS.has(argv[2] ?? "") ? LogLevel.Info : LogLevel.Warning,
  // @effect/cli has already printed its own usage errors.
  reported: (error) => (ValidationError.isValidationError(error) ? 2 : undefined)
})
