/**
 * `npm run bench -- [scenario…] [--flag value]…` (or `agent-memory bench …`):
 * runs the benchmark scenarios against the PostgreSQL + pgvector named by
 * DATABASE_URL (and the embedded PGlite), prints tables, and writes
 * results.json, summary.md and chart.svg under results/<timestamp>/.
 * Scenarios: ingest, search, filtered, cache, http, pglite (default: all).
 * `quality` is a run of its own: ranking quality on the labelled set (bench/quality.ts);
 * `keyword [--rows N]` too: keyword and hybrid latency beside vector search (bench/keyword.ts).
 * `efsearch [--sets N] [--ef 40,80,…] [--m M --efc E]` too: HNSW's share of the exact top 10 on real text (bench/efSearch.ts).
 * `soak --minutes N` is a run of its own: a bounded mixed load on the server (bench/soak.ts).
 * Flags and method: bench/PERFORMANCE.md.
 */
import { NodeRuntime } from "@effect/platform-node"
import { Effect, Logger, LogLevel } from "effect"
import { parse, UsageError } from "./options.ts"
import { runBench } from "./run.ts"
import { runKeyword } from "./keyword.ts"
import { runEfSearch } from "./efSearch.ts"
import { runQuality } from "./qualityMain.ts"
import { parseSoak, runSoak } from "./soak.ts"

const argv = process.argv.slice(2)

const soak = Effect.suspend(() => {
  const options = parseSoak(argv)
  return Effect.promise(() => runSoak(options))
})

const benchmark = Effect.suspend(() =>
  runBench(parse(argv), {
    url: process.env["DATABASE_URL"],
    prefix: "bench_",
    log: (line) => console.log(line),
    write: true,
    command: `npm run bench --${argv.length > 0 ? " " + argv.join(" ") : ""}`
  })
)

const program = Effect.asVoid<unknown, Error, never>(argv[0] === "soak" ? soak : argv[0] === "quality" ? runQuality(argv.slice(1)) : argv[0] === "keyword" ? runKeyword(argv.slice(1)) : argv[0] === "efsearch" ? runEfSearch(argv.slice(1)) : benchmark).pipe(
  Effect.catchAllDefect((defect) =>
    defect instanceof UsageError
      ? Effect.sync(() => {
        console.error(`bench: ${defect.message}`)
        process.exitCode = 2
      })
      : Effect.die(defect)
  )
)

program.pipe(Logger.withMinimumLogLevel(LogLevel.Warning), NodeRuntime.runMain)
