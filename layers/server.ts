/**
 * The HTTP server over the memory stack as configured: what `npm start`, the
 * image and `agent-memory serve` run. Telemetry is the process's (layers/process.ts).
 */
import { Effect, Layer } from "effect"
import * as Server from "../src/http/Server.ts"
import * as AgentMemory from "./app.ts"

export const layerConfig = Layer.unwrapEffect(Effect.map(Server.serverConfig, Server.layer)).pipe(
  Layer.provide(AgentMemory.layerConfig())
)
