/**
 * What the CLI's commands run on. The process's composition root (layers/cli.ts)
 * provides it, so the commands here know the service tags only, never the
 * providers, the telemetry or the benchmark (src/ imports none of them).
 */
import type { PlatformError } from "@effect/platform/Error"
import type { ServeError } from "@effect/platform/HttpServerError"
import { Context, Data, type Effect, type Layer } from "effect"
import type { Memory } from "../memory/Memory.ts"
import type { MemorySettingsShape } from "../memory/MemorySettings.ts"
import type { ProviderStartError } from "../plugins/Plugin.ts"
import type { PluginLoadError } from "../plugins/PluginRegistry.ts"

/** What building the memory stack may fail with. */
export type StackError = ProviderStartError | PluginLoadError

/** `agent-memory bench` where there is no benchmark (an installed package ships without bench/). */
export class BenchUnavailable extends Data.TaggedError("BenchUnavailable")<{ readonly message: string }> {}

export interface CliStackService {
  /** The memory stack as configured; `settings` overrides tuning (the CLI's flags). */
  readonly memory: (settings?: Partial<MemorySettingsShape>) => Layer.Layer<Memory, StackError>
  /** The HTTP server over the same stack: what `npm start` runs. */
  readonly server: Layer.Layer<never, StackError | ServeError>
  /** Runs the benchmark with its own flags; answers its exit code. */
  readonly bench: (args: ReadonlyArray<string>) => Effect.Effect<number, BenchUnavailable | PlatformError>
}

export class CliStack extends Context.Tag("agent-memory/CliStack")<CliStack, CliStackService>() {}
