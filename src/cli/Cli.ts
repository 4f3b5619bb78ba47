/**
 * The `agent-memory` command line (@effect/cli): serve, ingest, search,
 * context, migrate, stats, bench. Each command builds the memory stack from the
 * same configuration as the server (environment and MEMORY_CONFIG).
 */
import { Args, Command, Options } from "@effect/cli"
import { Config, Console, Data, Effect, Layer, Option } from "effect"
import { ContextRequest } from "../domain/Context.ts"
import { MemoryKind } from "../domain/Memory.ts"
import { SearchMode, SearchRequest } from "../domain/Search.ts"
import { Memory } from "../memory/Memory.ts"
import { McpMemory } from "../mcp/McpMemory.ts"
import * as McpStdio from "../mcp/McpStdio.ts"
import { CliStack } from "./CliStack.ts"
import { localTarget, remoteTarget, runIngest } from "./IngestCommand.ts"

const namespace = Options.text("namespace").pipe(Options.withAlias("n"), Options.optional, Options.withDescription("namespace (default: default)"))
const orUndefined = <A>(o: Option.Option<A>) => Option.getOrUndefined(o)

/** The configured memory stack for a command (`settings`: its tuning flags). */
const withMemory = (settings?: Parameters<CliStack["Type"]["memory"]>[0]) =>
  <A, E, R>(effect: Effect.Effect<A, E, R>) =>
    Effect.flatMap(CliStack, (stack) => Effect.provide(effect, stack.memory(settings)))

const serve = Command.make("serve", {}, () => Effect.flatMap(CliStack, (stack) => Layer.launch(stack.server))).pipe(
  Command.withDescription("run the HTTP server (as npm start does)")
)

const ingest = Command.make(
  "ingest",
  {
    paths: Args.text({ name: "file|dir|-" }).pipe(Args.atLeast(1)),
    namespace,
    kind: Options.choice("kind", MemoryKind.literals).pipe(Options.optional, Options.withDescription("memory (one record per text file) or knowledge (documents, the default for text files)")),
    batchSize: Options.integer("batch-size").pipe(Options.optional),
    concurrency: Options.integer("concurrency").pipe(Options.optional),
    url: Options.text("url").pipe(
      Options.optional,
      Options.withDescription("send the data through a running server (http://HOST:PORT) instead of opening the store here")
    )
  },
  (args) => {
    const options = { namespace: orUndefined(args.namespace), kind: orUndefined(args.kind) }
    if (Option.isSome(args.url)) return Effect.asVoid(runIngest(remoteTarget(args.url.value), args.paths, options))
    return Effect.flatMap(Memory, (memory) => runIngest(localTarget(memory), args.paths, options)).pipe(
      Effect.asVoid,
      withMemory({
        ...Option.match(args.batchSize, { onNone: () => ({}), onSome: (batchSize) => ({ batchSize }) }),
        ...Option.match(args.concurrency, { onNone: () => ({}), onSome: (batchConcurrency) => ({ batchConcurrency }) })
      })
    )
  }
).pipe(Command.withDescription("store files, folders or NDJSON (- for standard input)"))

const search = Command.make(
  "search",
  {
    query: Args.text({ name: "query" }),
    k: Options.integer("k").pipe(Options.withDefault(10)),
    mode: Options.choice("mode", SearchMode.literals).pipe(Options.withDefault("vector" as const)),
    namespace,
    json: Options.boolean("json").pipe(Options.withDescription("print the answer as JSON"))
  },
  (args) =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const response = yield* memory.search(new SearchRequest({ query: args.query, k: args.k, mode: args.mode, namespace: orUndefined(args.namespace) }))
      if (args.json) return yield* Console.log(JSON.stringify(response, null, 2))
      if (response.hits.length === 0) return yield* Console.log("no matches")
      for (const [i, hit] of response.hits.entries()) {
        yield* Console.log(`${String(i + 1).padStart(2)}. ${hit.score.toFixed(3)}  ${hit.content.replace(/\s+/g, " ").slice(0, 160)}`)
      }
    }).pipe(withMemory())
).pipe(Command.withDescription("find memories"))

const context = Command.make(
  "context",
  { query: Args.text({ name: "query" }), maxTokens: Options.integer("max-tokens").pipe(Options.optional), namespace },
  (args) =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const built = yield* memory.context(new ContextRequest({
        query: args.query,
        maxTokens: orUndefined(args.maxTokens),
        namespace: orUndefined(args.namespace)
      }))
      yield* Console.log(built.text)
      yield* Console.error(`(${built.tokenCount} tokens, ${built.sources.length} sources)`)
    }).pipe(withMemory())
).pipe(Command.withDescription("build a prompt context for a query"))

const migrate = Command.make("migrate", {}, () =>
  Effect.gen(function*() {
    const memory = yield* Memory
    yield* memory.ping
    yield* Console.log(`schema up to date (${memory.provider})`)
  }).pipe(withMemory())).pipe(Command.withDescription("bring the store's schema and vector index up to date"))

/** `agent-memory stats` could not read a server's statistics. */
export class StatsUnavailable extends Data.TaggedError("StatsUnavailable")<{ readonly message: string }> {}

// The server's own HOST and PORT (as serve binds them), so `stats` finds the server started with the same environment.
const serverUrl = Config.all({
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  port: Config.port("PORT").pipe(Config.withDefault(8080))
}).pipe(Config.map(({ host, port }) => {
  // A wildcard bind is reached on loopback; an IPv6 literal needs brackets in a URL.
  const reach = host === "0.0.0.0" || host === "" ? "127.0.0.1" : host === "::" ? "::1" : host
  return `http://${reach.includes(":") ? `[${reach}]` : reach}:${port}`
}))

const stats = Command.make(
  "stats",
  { url: Options.text("url").pipe(Options.optional, Options.withDescription("the server (default: http://HOST:PORT)")) },
  (args) =>
    Effect.gen(function*() {
      const url = Option.isSome(args.url) ? args.url.value.replace(/\/+$/, "") : yield* serverUrl
      const text = yield* Effect.tryPromise({
        try: async () => {
          const response = await fetch(`${url}/v1/stats`)
          const body = await response.text()
          if (!response.ok) throw new Error(`${response.status} ${body}`)
          return JSON.stringify(JSON.parse(body), null, 2)
        },
        catch: (e) => {
          // fetch's own message is "fetch failed"; the reason (ECONNREFUSED, …) is its cause.
          const reason = e instanceof Error ? (e.cause instanceof Error ? `${e.message} (${e.cause.message})` : e.message) : String(e)
          return new StatsUnavailable({ message: `no statistics from ${url}: ${reason}` })
        }
      })
      yield* Console.log(text)
    })
).pipe(Command.withDescription("a running server's statistics"))

// Listed for --help; layers/cli.ts hands `bench …` to the benchmark before parsing, flags and all.
const bench = Command.make("bench", { scenarios: Args.text({ name: "scenario" }).pipe(Args.repeated) }, (args) =>
  Effect.flatMap(CliStack, (stack) => stack.bench(args.scenarios)).pipe(
    Effect.flatMap((code) => Effect.sync(() => void (process.exitCode = code)))
  )).pipe(Command.withDescription("run the benchmarks (npm run bench)"))

// What desktop MCP clients launch: the memory over MCP on stdin/stdout, logs on stderr (src/mcp/McpStdio.ts).
const mcp = Command.make("mcp", {}, () =>
  McpStdio.serve.pipe(Effect.provide(McpMemory.Default), withMemory(), Effect.provide(McpStdio.stderrLogger))).pipe(
    Command.withDescription("serve the memory over MCP on stdin/stdout (for Claude Desktop, Cursor and other MCP clients)")
  )

export const cli = Command.make("agent-memory").pipe(
  Command.withSubcommands([serve, ingest, search, context, migrate, stats, bench, mcp])
)

export const run = Command.run(cli, { name: "agent-memory", version: "0.1.0" })
