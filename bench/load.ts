/**
 * Closed-loop load: `clients` callers, each sending its next query as soon as
 * the last one answered, for a fixed time. Answers throughput and latency.
 */
import { Effect } from "effect"
import { summarise, type Summary } from "./stats.ts"

export interface LoadResult {
  readonly clients: number
  readonly seconds: number
  readonly queriesPerSecond: number
  readonly latency: Summary
  readonly samples: ReadonlyArray<number>
}

const finish = (clients: number, started: number, samples: ReadonlyArray<number>): LoadResult => {
  const seconds = (performance.now() - started) / 1000
  return { clients, seconds, queriesPerSecond: samples.length / seconds, latency: summarise(samples), samples }
}

/** Rounds of one measurement as one: all their samples over all their time. */
export const combine = (rounds: ReadonlyArray<LoadResult>): LoadResult => {
  const samples = rounds.flatMap((r) => r.samples)
  const seconds = rounds.reduce((s, r) => s + r.seconds, 0)
  return { clients: rounds[0]?.clients ?? 0, seconds, queriesPerSecond: samples.length / seconds, latency: summarise(samples), samples }
}

/** Caller c sends queries c, c + clients, c + 2·clients, … (modulo `queries`). */
export const closedLoop = <E>(options: { readonly clients: number; readonly seconds: number; readonly queries: number }, run: (query: number) => Effect.Effect<unknown, E>) =>
  Effect.gen(function*() {
    const samples: Array<number> = []
    const started = performance.now()
    const end = started + options.seconds * 1000
    const caller = (c: number) =>
      Effect.gen(function*() {
        for (let i = c; performance.now() < end; i += options.clients) {
          const t = performance.now()
          yield* run(i % options.queries)
          samples.push(performance.now() - t)
        }
      })
    yield* Effect.forEach(Array.from({ length: options.clients }, (_, c) => c), caller, { concurrency: "unbounded", discard: true })
    return finish(options.clients, started, samples)
  })

/** The same for a Promise-returning query (raw `pg`). */
export const closedLoopAsync = async (
  options: { readonly clients: number; readonly seconds: number; readonly queries: number },
  run: (query: number) => Promise<unknown>
): Promise<LoadResult> => {
  const samples: Array<number> = []
  const started = performance.now()
  const end = started + options.seconds * 1000
  await Promise.all(Array.from({ length: options.clients }, async (_, c) => {
    for (let i = c; performance.now() < end; i += options.clients) {
      const t = performance.now()
      await run(i % options.queries)
      samples.push(performance.now() - t)
    }
  }))
  return finish(options.clients, started, samples)
}
