/**
 * The `agent-memory` command line (@effect/cli): serve, ingest, search,
 * context, migrate, stats, bench. Each command builds the memory stack from the
 * same configuration as the server (environment and MEMORY_CONFIG).
 */
import { Args, Command, Options } from "@effect/cli"
import { Console, Effect, Layer, Option } from "effect"
import * as AgentMemory from "../../layers/app.ts"
import { ContextRequest } from "../domain/Context.ts"
import { MemoryKind } from "../domain/Memory.ts"
import { SearchMode, SearchRequest } from "../domain/Search.ts"
import { DocumentRequest } from "../domain/Document.ts"
import * as Server from "../http/Server.ts"
import { Memory } from "../memory/Memory.ts"
import { fileItems, listSources, readText } from "./ingestSources.ts"
import { makeProgress } from "./Progress.ts"

const namespace = Options.text("namespace").pipe(Options.withAlias("n"), Options.optional, Options.withDescription("namespace (default: default)"))
const orUndefined = <A>(o: Option.Option<A>) => Option.getOrUndefined(o)

const serve = Command.make("serve", {}, () =>
  Layer.launch(
    Layer.unwrapEffect(Effect.map(Server.serverConfig, Server.layer)).pipe(Layer.provide(AgentMemory.layerConfig()))
  )).pipe(Command.withDescription("run the HTTP server (as npm start does)"))

const ingest = Command.make(
  "ingest",
  {
    paths: Args.text({ name: "file|dir|-" }).pipe(Args.atLeast(1)),
    namespace,
    kind: Options.choice("kind", MemoryKind.literals).pipe(Options.optional, Options.withDescription("memory (one record per text file) or knowledge (documents, the default for text files)")),
    batchSize: Options.integer("batch-size").pipe(Options.optional),
    concurrency: Options.integer("concurrency").pipe(Options.optional)
  },
  (args) =>
    Effect.gen(function*() {
      const memory = yield* Memory
      const sources = yield* listSources(args.paths)
      const ns = orUndefined(args.namespace)
      const kind = orUndefined(args.kind)
      const totals = { stored: 0, duplicates: 0, failed: 0, chunks: 0, files: 0 }
      const failures: Array<string> = []
      const progress = makeProgress("ingesting", sources.length)
      for (const source of sources) {
        if (source._tag === "ndjson") {
          const result = yield* memory.storeMany(fileItems(source.path), { namespace: ns, kind })
          totals.stored += result.stored
          totals.duplicates += result.duplicates
          totals.failed += result.failedCount
          failures.push(...result.failed.slice(0, 20).map((f) => `${source.path} item ${f.index}: ${f._tag}: ${f.message}`))
        } else {
          const content = yield* readText(source.path)
          const outcome = kind === "memory" || kind === "message"
            ? memory.store({ content, namespace: ns, kind, metadata: { source: source.relativePath } } as never).pipe(
              Effect.map((r) => ({ stored: r.deduplicated ? 0 : 1, duplicates: r.deduplicated ? 1 : 0, chunks: 0 }))
            )
            : memory.ingestDocument(
              new DocumentRequest({ content, id: source.relativePath.replace(/[^A-Za-z0-9_.:@/-]/g, "_").slice(0, 128), title: source.relativePath, source: source.relativePath, namespace: ns })
            ).pipe(Effect.map((d) => ({ stored: d.chunks - d.duplicates, duplicates: d.duplicates, chunks: d.chunks })))
          const result = yield* Effect.either(outcome)
          if (result._tag === "Right") {
            totals.stored += result.right.stored
            totals.duplicates += result.right.duplicates
            totals.chunks += result.right.chunks
          } else {
            totals.failed++
            failures.push(`${source.path}: ${result.left._tag}: ${result.left.message}`)
          }
        }
        totals.files++
        progress.advance()
      }
      const seconds = progress.finish()
      for (const line of failures) yield* Console.error(line)
      yield* Console.log(
        `ingested ${totals.files} source${totals.files === 1 ? "" : "s"} in ${seconds.toFixed(1)} s: ` +
          `${totals.stored} stored, ${totals.duplicates} duplicates, ${totals.failed} failed` +
          (totals.chunks > 0 ? ` (${totals.chunks} document chunks)` : "")
      )
      if (totals.failed > 0) process.exitCode = 1
    }).pipe(
      Effect.provide(AgentMemory.layerConfig([], {
        ...Option.match(args.batchSize, { onNone: () => ({}), onSome: (batchSize) => ({ batchSize }) }),
        ...Option.match(args.concurrency, { onNone: () => ({}), onSome: (batchConcurrency) => ({ batchConcurrency }) })
      }))
    )
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
    }).pipe(Effect.provide(AgentMemory.layerConfig()))
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
    }).pipe(Effect.provide(AgentMemory.layerConfig()))
).pipe(Command.withDescription("build a prompt context for a query"))

const migrate = Command.make("migrate", {}, () =>
  Effect.gen(function*() {
    const memory = yield* Memory
    yield* memory.ping
    yield* Console.log(`schema up to date (${memory.provider})`)
  }).pipe(Effect.provide(AgentMemory.layerConfig()))).pipe(Command.withDescription("bring the store's schema and vector index up to date"))

const stats = Command.make(
  "stats",
  { url: Options.text("url").pipe(Options.withDefault("http://127.0.0.1:8080")) },
  (args) =>
    Effect.tryPromise({
      try: async () => JSON.stringify(await (await fetch(`${args.url}/v1/stats`)).json(), null, 2),
      catch: (e) => new Error(`no answer from ${args.url}: ${(e as Error).message}`)
    }).pipe(Effect.flatMap(Console.log))
).pipe(Command.withDescription("a running server's statistics"))

const bench = Command.make("bench", { scenarios: Args.text({ name: "scenario" }).pipe(Args.repeated) }, (args) =>
  Effect.promise(async () => {
    process.argv = [process.argv[0]!, "bench", ...args.scenarios]
    await import("../../bench/main.ts")
  })).pipe(Command.withDescription("run the benchmarks (npm run bench)"))

export const cli = Command.make("agent-memory").pipe(
  Command.withSubcommands([serve, ingest, search, context, migrate, stats, bench])
)

export const run = Command.run(cli, { name: "agent-memory", version: "0.1.0" })
