/**
 * `agent-memory bench`: the benchmark (bench/main.ts, TypeScript run through tsx)
 * in a child process with its own flags, from the repository root. The product
 * imports no benchmark code; an installed package has no bench/ and says so.
 */
import { existsSync } from "node:fs"
import { fileURLToPath } from "node:url"
import { Command } from "@effect/platform"
import { Effect } from "effect"
import { BenchUnavailable } from "../src/cli/CliStack.ts"

// layers/bench.ts runs from the repository root's layers/, the build from dist/layers/.
const root = [new URL("../", import.meta.url), new URL("../../", import.meta.url)]
  .map((url) => fileURLToPath(url))
  .find((dir) => existsSync(`${dir}package.json`))

export const run = (args: ReadonlyArray<string>) =>
  Effect.gen(function*() {
    const script = root === undefined ? undefined : `${root}bench/main.ts`
    if (root === undefined || script === undefined || !existsSync(script) || !existsSync(`${root}node_modules/tsx`)) {
      return yield* new BenchUnavailable({
        message: "the benchmark runs from a clone of the repository (bench/ and the dev dependencies: npm install, then npm run bench)"
      })
    }
    return yield* Command.make(process.execPath, "--import", "tsx", script, ...args).pipe(
      Command.workingDirectory(root),
      Command.stdin("inherit"),
      Command.stdout("inherit"),
      Command.stderr("inherit"),
      Command.exitCode
    )
  })
