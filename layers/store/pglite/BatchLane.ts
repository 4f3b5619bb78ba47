/**
 * PGlite has one session, and a batch's insert holds it for a whole
 * transaction. Waiters on the session are served in order, so with several
 * batch streams every queued batch transaction went before a single write
 * that arrived after them (a single POST waited seconds behind three streams).
 * Inserts of more than one record go through a lane of one: at most one batch
 * transaction waits for the session at a time, and a single write waits behind
 * at most that one and the one running.
 */
import { Effect } from "effect"
import type { MemoryStoreService } from "../../../src/ports/MemoryStore.ts"

export const oneBatchAtATime = (store: MemoryStoreService): Effect.Effect<MemoryStoreService> =>
  Effect.map(Effect.makeSemaphore(1), (lane) => ({
    ...store,
    insert: (records) => (records.length > 1 ? lane.withPermits(1)(store.insert(records)) : store.insert(records)),
    replace: (selector, records) =>
      records.length > 1 ? lane.withPermits(1)(store.replace(selector, records)) : store.replace(selector, records)
  }))
