/** The server process (`npm start`, the image): the server over the configured stack, with telemetry. */
import { Layer, LogLevel } from "effect"
import { runMain } from "./process.ts"
import * as Server from "./server.ts"

runMain(Layer.launch(Server.layerConfig), { logLevel: LogLevel.Info })
