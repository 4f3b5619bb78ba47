/**
 * `npm run bench -- <scenario> [--flag value]…`: runs benchmark scenarios and prints their figures.
 * Scenarios: cache.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Logger, LogLevel } from "effect"
import { cacheBench } from "./cache.ts"

const args = process.argv.slice(2)
const flag = (name: string, fallback: number) => {
  const i = args.indexOf(`--${name}`)
  return i >= 0 && args[i + 1] !== undefined ? Number(args[i + 1]) : fallback
}
const scenarios = args.filter((a, i) => !a.startsWith("--") && !args[i - 1]?.startsWith("--"))
const wanted = scenarios.length > 0 ? scenarios : ["cache"]

const program = Effect.gen(function*() {
  for (const scenario of wanted) {
    switch (scenario) {
      case "cache":
        yield* cacheBench({ records: flag("records", 2000), queries: flag("queries", 300) })
        break
      default:
        return yield* Effect.fail(new Error(`unknown scenario "${scenario}" (known: cache)`))
    }
  }
})

program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning), NodeRuntime.runMain)
