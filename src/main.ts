/** The server process: compose the layers, launch, and report a failed start in one line. */
import { NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Layer } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as Telemetry from "../otel/Telemetry.ts"
import * as ConfigFile from "./config/ConfigFile.ts"
import { describeStartupFailure } from "./config/StartupFailure.ts"
import * as Server from "./http/Server.ts"

const MainLive = Layer.unwrapEffect(Effect.map(Server.serverConfig, Server.layer)).pipe(
  Layer.provide(AgentMemory.layerConfig()),
  // Built before the stack, so its spans and metrics are exported.
  Layer.provide(Telemetry.layerConfig()),
  // First of all: MEMORY_CONFIG's file under the environment, for every layer above.
  Layer.provide(ConfigFile.layer)
)

Layer.launch(MainLive).pipe(
  Effect.catchAll((error) =>
    Console.error(`agent-memory: ${describeStartupFailure(error)}`).pipe(
      Effect.zipRight(Effect.sync(() => void (process.exitCode = 1)))
    )
  ),
  NodeRuntime.runMain
)
