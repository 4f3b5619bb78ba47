/**
 * The `http` reranker: the common `/rerank` protocol that Cohere, Jina, Voyage
 * and Hugging Face TEI-style servers speak. It POSTs
 * `{model, query, documents, top_n}` to `<MEMORY_RERANK_URL>/rerank` and reads
 * `{results: [{index, relevance_score}]}` (or TEI's bare `[{index, score}]`).
 * Each try has a timeout; a refused connection, a timeout, a 429 or a 5xx is
 * tried again on an exponential schedule; any other answer that is not a
 * ranking of the documents given is RerankFailed at once.
 */
import { FetchHttpClient, HttpClient, HttpClientRequest } from "@effect/platform"
import { Config, ConfigError, Data, Duration, Effect, Either, Layer, Option, Redacted, Schedule, Schema } from "effect"
import { duration } from "../../src/config/values.ts"
import { RerankFailed } from "../../src/domain/errors.ts"
import { MAX_K } from "../../src/domain/Memory.ts"
import { Reranker, type RerankerService, type RerankScore } from "../../src/ports/Reranker.ts"

export interface HttpRerankerOptions {
  /** Base URL; `/rerank` is added (e.g. https://api.cohere.com/v2, https://api.jina.ai/v1, http://127.0.0.1:8080). */
  readonly url: string
  /** Sent as `model` when set (TEI serves one model and needs none). */
  readonly model?: string | undefined
  /** Sent as `Authorization: Bearer …`; never logged. */
  readonly apiKey?: Redacted.Redacted | undefined
  /** Candidates a search retrieves for the reranker. */
  readonly depth?: number | undefined
  /** Per try. */
  readonly timeout?: Duration.DurationInput | undefined
  /** Tries after the first, for transient failures. */
  readonly retries?: number | undefined
  /** First pause between tries; doubles each time. */
  readonly backoff?: Duration.DurationInput | undefined
}

export const DEFAULT_DEPTH = 50
const DEFAULT_TIMEOUT = Duration.seconds(10)
const DEFAULT_RETRIES = 2

const CohereAnswer = Schema.Struct({
  results: Schema.Array(Schema.Struct({ index: Schema.Int, relevance_score: Schema.Number }))
})
const TeiAnswer = Schema.Array(Schema.Struct({ index: Schema.Int, score: Schema.Number }))
const decodeAnswer = Schema.decodeUnknownEither(Schema.Union(CohereAnswer, TeiAnswer))

/** A failure worth another try. */
class Transient extends Data.TaggedError("Transient")<{ readonly message: string }> {}

export const make = (options: HttpRerankerOptions) =>
  Effect.gen(function*() {
    const client = yield* HttpClient.HttpClient
    const endpoint = `${options.url.replace(/\/+$/, "")}/rerank`
    // What errors name: the endpoint without credentials or query.
    const where = (() => {
      const u = new URL(endpoint)
      return `${u.protocol}//${u.host}${u.pathname}`
    })()
    const timeout = Duration.decode(options.timeout ?? DEFAULT_TIMEOUT)
    const retries = options.retries ?? DEFAULT_RETRIES
    const model = options.model

    const malformed = (why: string) => new RerankFailed({ message: `reranker at ${where} answered something that is not a ranking: ${why}` })

    const once = (query: string, documents: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        let request = HttpClientRequest.post(endpoint).pipe(
          HttpClientRequest.acceptJson,
          HttpClientRequest.bodyUnsafeJson({ ...(model === undefined ? {} : { model }), query, documents, top_n: documents.length })
        )
        if (options.apiKey !== undefined) request = HttpClientRequest.bearerToken(request, Redacted.value(options.apiKey))
        const response = yield* client.execute(request).pipe(
          Effect.mapError((e) => new Transient({ message: e.reason === "Transport" ? "could not be reached" : e.message }))
        )
        if (response.status === 429 || response.status >= 500) {
          return yield* new Transient({ message: `answered HTTP ${response.status}` })
        }
        if (response.status >= 400) {
          const text = yield* Effect.orElseSucceed(response.text, () => "")
          return yield* new RerankFailed({ message: `reranker at ${where} refused the request: HTTP ${response.status} ${text.slice(0, 200)}`.trim() })
        }
        const body = yield* Effect.mapError(response.json, () => malformed("the body is not JSON"))
        const decoded = decodeAnswer(body)
        if (Either.isLeft(decoded)) return yield* malformed("expected {results: [{index, relevance_score}]}")
        const scores: Array<RerankScore> = "results" in decoded.right
          ? decoded.right.results.map((r) => ({ index: r.index, score: r.relevance_score }))
          : decoded.right.map((r) => ({ index: r.index, score: r.score }))
        const bad = scores.find((s) => s.index < 0 || s.index >= documents.length || !Number.isFinite(s.score))
        if (bad !== undefined) return yield* malformed(`index ${bad.index} with score ${bad.score} for ${documents.length} documents`)
        return scores.sort((a, b) => b.score - a.score)
      }).pipe(
        Effect.scoped,
        // A hung server must not hold the caller while the abandoned request is torn down.
        Effect.disconnect,
        Effect.timeoutFail({ duration: timeout, onTimeout: () => new Transient({ message: `did not answer within ${Duration.format(timeout)}` }) })
      )

    const rerank: RerankerService["rerank"] = (query, documents) =>
      once(query, documents).pipe(
        Effect.retry({
          schedule: Schedule.exponential(options.backoff ?? Duration.millis(100)),
          times: retries,
          while: (e) => e._tag === "Transient"
        }),
        Effect.catchTag("Transient", (e) =>
          Effect.fail(new RerankFailed({ message: `reranker at ${where} ${e.message} (${retries + 1} ${retries === 0 ? "try" : "tries"})` }))),
        Effect.withSpan("Reranker.rerank", {
          attributes: { "rerank.provider": "http", "rerank.model": model ?? "", "rerank.documents": documents.length },
          captureStackTrace: false
        })
      )

    return {
      id: `http:${model ?? where}`,
      depth: options.depth ?? DEFAULT_DEPTH,
      rerank
    } satisfies RerankerService
  })

/** The reranker over an HttpClient the caller provides. */
export const layerWithClient = (options: HttpRerankerOptions) => Layer.effect(Reranker, make(options))

/** The reranker over the platform's fetch. */
export const layer = (options: HttpRerankerOptions) => layerWithClient(options).pipe(Layer.provide(FetchHttpClient.layer))

const httpUrl = (name: string) =>
  Config.string(name).pipe(
    Config.mapOrFail((text) => {
      const ok = URL.canParse(text) && /^https?:$/.test(new URL(text).protocol)
      return ok ? Either.right(text) : Either.left(ConfigError.InvalidData([name], `"${text}" is not an http(s) URL`))
    })
  )

export const config: Config.Config<HttpRerankerOptions> = Config.all({
  url: httpUrl("MEMORY_RERANK_URL"),
  model: Config.option(Config.string("MEMORY_RERANK_MODEL")).pipe(Config.map(Option.getOrUndefined)),
  apiKey: Config.option(Config.redacted("MEMORY_RERANK_API_KEY")).pipe(Config.map(Option.getOrUndefined)),
  depth: Config.integer("MEMORY_RERANK_DEPTH").pipe(
    Config.validate({ message: `must be a whole number from 1 to ${MAX_K}`, validation: (n) => n >= 1 && n <= MAX_K }),
    Config.withDefault(DEFAULT_DEPTH)
  ),
  timeout: duration("MEMORY_RERANK_TIMEOUT", DEFAULT_TIMEOUT),
  retries: Config.integer("MEMORY_RERANK_RETRIES").pipe(
    Config.validate({ message: "must be a whole number from 0 to 10", validation: (n) => n >= 0 && n <= 10 }),
    Config.withDefault(DEFAULT_RETRIES)
  )
})

export const layerConfig = (options: Config.Config<HttpRerankerOptions> = config) =>
  Layer.unwrapEffect(Effect.map(options, layer))
