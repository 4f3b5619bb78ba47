/**
 * MEMORY_WORKERS=N (default 1): the server as N node:cluster workers sharing one port, for hosts
 * with more cores than one Node process uses. Each worker is a whole server with its own pool and
 * its own in-process (L1) caches; the primary only forks, replaces a worker that dies after it
 * listened, and passes SIGTERM on.
 *
 * What N > 1 needs, checked before any worker starts (one line and exit 1 otherwise):
 * - a store that processes share: not the embedded pglite (its data directory belongs to one
 *   process) nor the memory store (each worker would hold other records);
 * - REDIS_URL: a write in one worker must make the others' cached searches unreachable before it is
 *   acknowledged, and the namespace generations in Redis are what every worker reads on each lookup.
 */
import cluster, { type Worker } from "node:cluster"
import { Config, ConfigError, Data, Effect, Option } from "effect"
import { providerConfig } from "./app.ts"

export const workersConfig: Config.Config<number> = Config.integer("MEMORY_WORKERS").pipe(
  Config.validate({ message: "must be a whole number of 1 or more", validation: (n) => n >= 1 }),
  Config.withDefault(1)
)

/** Why N workers cannot serve this configuration; undefined when they can. */
export const refusal = (workers: number, store: string, redis: boolean): string | undefined => {
  if (workers <= 1) return undefined
  if (store === "pglite") {
    return `${workers} workers need a store that processes share (MEMORY_STORE=pgvector): the embedded pglite store is one process's`
  }
  if (store === "memory") return `${workers} workers need a store that processes share (MEMORY_STORE=pgvector): the memory store is one process's`
  if (!redis) {
    return `${workers} workers need REDIS_URL: each one caches searches in its own memory, and only the generations in Redis tell it that another worker wrote`
  }
  return undefined
}

/** How many workers to run: 1 is this process itself; a refused configuration fails naming MEMORY_WORKERS. */
export const plan = Effect.gen(function*() {
  const workers = yield* workersConfig
  if (workers <= 1) return 1
  const { store } = yield* providerConfig
  const redis = Option.isSome(yield* Config.option(Config.redacted("REDIS_URL")))
  const refused = refusal(workers, store, redis)
  if (refused !== undefined) return yield* Effect.fail(ConfigError.InvalidData(["MEMORY_WORKERS"], refused))
  return workers
})

export class WorkerFailed extends Data.TaggedError("WorkerFailed")<{ readonly message: string }> {}

/**
 * Forks the workers and runs until one stops before it listened (a start-up failure: it printed
 * why; the others are stopped and this fails). A worker that dies later is replaced. Interrupted
 * (SIGTERM, SIGINT), it sends SIGTERM to every worker and waits for them to drain and exit.
 */
export const supervise = (workers: number) =>
  Effect.scoped(Effect.gen(function*() {
    const live = new Set<Worker>()
    const listening = new WeakSet<Worker>()
    let stopping = false
    const fork = () => live.add(cluster.fork())
    const onListening = (worker: Worker) => listening.add(worker)
    cluster.on("listening", onListening)
    yield* Effect.addFinalizer(() =>
      Effect.async<void>((resume) => {
        stopping = true
        cluster.off("listening", onListening)
        const exited = (worker: Worker) => {
          live.delete(worker)
          if (live.size === 0) {
            cluster.off("exit", exited)
            resume(Effect.void)
          }
        }
        if (live.size === 0) return resume(Effect.void)
        cluster.on("exit", exited)
        for (const worker of live) worker.process.kill("SIGTERM")
      })
    )
    return yield* Effect.async<never, WorkerFailed>((resume) => {
      // The first worker starts alone (it runs the migrations and builds the index), then the rest.
      const first = () => {
        cluster.off("listening", first)
        for (let i = 1; i < workers; i++) fork()
      }
      cluster.on("listening", first)
      cluster.on("exit", (worker, code, signal) => {
        live.delete(worker)
        if (stopping) return
        if (!listening.has(worker)) {
          resume(Effect.fail(new WorkerFailed({ message: `a worker stopped before it listened (exit ${signal ?? code})` })))
          return
        }
        console.error(`agent-memory: worker ${worker.process.pid} exited (${signal ?? code}); starting another`)
        fork()
      })
      fork()
    })
  }))

/** Serves here (MEMORY_WORKERS=1, or inside a worker), or supervises the workers that each serve. */
export const serveWith = <E, R>(serve: Effect.Effect<never, E, R>): Effect.Effect<never, E | WorkerFailed | ConfigError.ConfigError, R> =>
  cluster.isWorker
    // A worker's channel to the primary would keep it alive after its server stopped (or failed to start).
    ? Effect.ensuring(serve, Effect.sync(() => cluster.worker?.disconnect()))
    : Effect.flatMap(plan, (workers): Effect.Effect<never, E | WorkerFailed, R> => (workers === 1 ? serve : supervise(workers)))
