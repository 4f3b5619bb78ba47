/**
 * Optional configuration file: MEMORY_CONFIG names a JSON object whose keys are
 * the same names as the environment variables. The environment wins.
 */
import { readFile } from "node:fs/promises"
import { Config, ConfigError, ConfigProvider, Effect, Layer, Option } from "effect"

export const layer: Layer.Layer<never, ConfigError.ConfigError> = Layer.unwrapEffect(
  Effect.gen(function*() {
    const path = yield* Config.option(Config.string("MEMORY_CONFIG"))
    if (Option.isNone(path)) return Layer.empty
    const text = yield* Effect.tryPromise({
      try: () => readFile(path.value, "utf8"),
      catch: (e) => ConfigError.InvalidData(["MEMORY_CONFIG"], `cannot read ${path.value}: ${(e as Error).message}`)
    })
    const json = yield* Effect.try({
      try: () => JSON.parse(text) as unknown,
      catch: (e) => ConfigError.InvalidData(["MEMORY_CONFIG"], `${path.value} is not JSON: ${(e as Error).message}`)
    })
    if (typeof json !== "object" || json === null || Array.isArray(json)) {
      return yield* Effect.fail(ConfigError.InvalidData(["MEMORY_CONFIG"], `${path.value} must hold a JSON object`))
    }
    return Layer.setConfigProvider(
      ConfigProvider.fromEnv().pipe(ConfigProvider.orElse(() => ConfigProvider.fromJson(json)))
    )
  })
)
