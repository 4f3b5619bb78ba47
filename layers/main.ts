/** The server process (`npm start`, the image): the server over the configured stack, with telemetry; MEMORY_WORKERS of them (layers/cluster.ts). */
import "./v8Flags.ts"
import { Layer, LogLevel } from "effect"
import { serveWith } from "./cluster.ts"
import { runMain } from "./process.ts"
import * as Server from "./server.ts"

runMain(serveWith(Layer.launch(Server.layerConfig)), { logLevel: LogLevel.Info })
