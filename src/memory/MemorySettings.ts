/** Tuning of the Memory service; defaults hold when the tag is not provided (e.g. in a library). */
import { Config, Context, Duration, Layer } from "effect"
import { duration, positiveInt } from "../config/values.ts"
import type { Encoding } from "./Tokenizer.ts"

export interface MemorySettingsShape {
  /** Records per embedding request and INSERT when ingesting. */
  readonly batchSize: number
  /** Batches in flight at once when ingesting. */
  readonly batchConcurrency: number
  /** How often expired records are deleted. */
  readonly sweepInterval: Duration.Duration
  readonly tokenizer: Encoding
}

export const defaults: MemorySettingsShape = {
  batchSize: 100,
  batchConcurrency: 4,
  sweepInterval: Duration.minutes(1),
  tokenizer: "o200k_base"
}

export class MemorySettings extends Context.Tag("agent-memory/MemorySettings")<MemorySettings, MemorySettingsShape>() {}

export const config: Config.Config<MemorySettingsShape> = Config.all({
  batchSize: positiveInt("MEMORY_BATCH_SIZE", defaults.batchSize),
  batchConcurrency: positiveInt("MEMORY_BATCH_CONCURRENCY", defaults.batchConcurrency),
  sweepInterval: duration("MEMORY_SWEEP_INTERVAL", defaults.sweepInterval),
  tokenizer: Config.literal("o200k_base", "cl100k_base")("MEMORY_TOKENIZER").pipe(Config.withDefault(defaults.tokenizer))
})

export const layer = (settings: Partial<MemorySettingsShape> = {}) => Layer.succeed(MemorySettings, { ...defaults, ...settings })
export const layerConfig = Layer.effect(MemorySettings, config)
