/**
 * The Reranker port: an optional second stage of search. Given the query and
 * the texts retrieval found, it answers how relevant each is, so the best of a
 * deeper candidate list can be kept. Off unless configured (MEMORY_RERANKER);
 * the built-in provider speaks the common HTTP `/rerank` protocol
 * (layers/reranker/HttpReranker.ts).
 */
import { Context, type Effect } from "effect"
import type { RerankFailed } from "../domain/errors.ts"

export interface RerankScore {
  /** Position of the document in the list given. */
  readonly index: number
  /** Higher is more relevant; providers answer in [0, 1] (others are clamped). */
  readonly score: number
}

export interface RerankerService {
  /** Provider and model, e.g. `http:rerank-v3.5`: part of every search's cache key. */
  readonly id: string
  /** How many candidates a search retrieves for it to rerank (at least k). */
  readonly depth: number
  /** Scores for the documents, best first; documents it leaves out rank after the scored ones. */
  readonly rerank: (query: string, documents: ReadonlyArray<string>) => Effect.Effect<ReadonlyArray<RerankScore>, RerankFailed>
}

export class Reranker extends Context.Tag("agent-memory/Reranker")<Reranker, RerankerService>() {}
