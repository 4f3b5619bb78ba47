/**
 * The `openai` embedder, on the official `openai` SDK: OpenAI itself, or any
 * OpenAI-compatible server (Ollama, vLLM, LM Studio, TEI…) through
 * OPENAI_BASE_URL.
 *
 * - Requests stay inside the API's limits: at most MEMORY_EMBEDDING_BATCH_SIZE
 *   (≤ 2048) inputs and 300k tokens each (counted as UTF-8 bytes, which is never
 *   fewer than the tokens).
 * - At most MEMORY_EMBEDDING_CONCURRENCY requests run at once, each with a
 *   deadline (MEMORY_EMBEDDING_TIMEOUT) that aborts the HTTP call.
 * - 429, 5xx, timeouts and dropped connections are retried with exponential
 *   backoff and jitter, waiting at least what Retry-After asks; all tries of
 *   one request share a budget (MEMORY_EMBEDDING_DEADLINE): a Retry-After that
 *   would end past it fails at once, naming it, rather than holding the caller.
 * - Single embeds (searches) arriving together are coalesced into one request
 *   (@effect/experimental's dataLoader over a RequestResolver.makeBatched).
 * - Vectors are asked for as base64 and decoded straight into Float32Array; a
 *   response of the wrong size or shape, or with NaN / Infinity in a vector, is
 *   an EmbeddingFailed, not a crash and never a stored record.
 */
import { dataLoader } from "@effect/experimental/RequestResolver"
import { Config, ConfigError, Data, Duration, Effect, Either, Layer, Option, Redacted, Request, RequestResolver, Schedule } from "effect"
import OpenAI from "openai"
import { duration, positiveInt } from "../../src/config/values.ts"
import { EmbeddingFailed } from "../../src/domain/errors.ts"
import { Embedder, type EmbedderService } from "../../src/ports/Embedder.ts"

export const MAX_INPUTS_PER_REQUEST = 2048
export const MAX_TOKENS_PER_REQUEST = 300_000

/** Native widths of OpenAI's models; text-embedding-3 models can be shortened with `dimensions`. */
const NATIVE_DIMENSIONS: Readonly<Record<string, number>> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536
}
const shortenable = (model: string) => model.startsWith("text-embedding-3")

export interface OpenAiEmbedderOptions {
  readonly model: string
  /** The vector width; for models this provider does not know, asked of the server when left out. */
  readonly dimensions?: number | undefined
  readonly apiKey?: Redacted.Redacted | undefined
  readonly baseUrl?: string | undefined
  readonly batchSize?: number | undefined
  readonly concurrency?: number | undefined
  readonly timeout?: Duration.DurationInput | undefined
  readonly maxRetries?: number | undefined
  /** The budget of one request with all its retries (default 60 seconds). */
  readonly deadline?: Duration.DurationInput | undefined
  /** How long a single embed waits for others to share its request. */
  readonly coalesceWindow?: Duration.DurationInput | undefined
}

/** One failed call, before retries are decided. */
class CallError extends Data.TaggedError("CallError")<{
  readonly message: string
  readonly retryable: boolean
  readonly retryAfter: Duration.Duration | undefined
}> {}

const retryAfterOf = (headers: Headers | undefined): Duration.Duration | undefined => {
  const ms = Number(headers?.get("retry-after-ms"))
  if (Number.isFinite(ms) && ms > 0) return Duration.millis(ms)
  const value = headers?.get("retry-after")
  if (!value) return undefined
  const seconds = Number(value)
  const wait = Number.isFinite(seconds) ? seconds * 1000 : Date.parse(value) - Date.now()
  // Kept whole: the retry decides against the request's deadline whether it is worth waiting.
  return Number.isFinite(wait) && wait > 0 ? Duration.millis(wait) : undefined
}

const classify = (cause: unknown): CallError => {
  if (cause instanceof OpenAI.APIError && cause.status !== undefined) {
    const status = cause.status
    return new CallError({
      message: `${status} ${cause.message}`,
      retryable: status === 408 || status === 409 || status === 429 || status >= 500,
      retryAfter: retryAfterOf(cause.headers)
    })
  }
  if (cause instanceof OpenAI.APIConnectionError) {
    return new CallError({ message: cause.message, retryable: true, retryAfter: undefined })
  }
  // A 200 whose body is not JSON surfaces as a bare SyntaxError from the SDK.
  const message = cause instanceof Error ? `${cause.name}: ${cause.message}` : String(cause)
  return new CallError({ message: `malformed response (${message})`, retryable: false, retryAfter: undefined })
}

const decodeBase64 = (text: string): Float32Array => {
  const bytes = Buffer.from(text, "base64")
  const vector = new Float32Array(bytes.byteLength / 4)
  new Uint8Array(vector.buffer).set(bytes)
  return vector
}

const allFinite = (vector: Float32Array) => {
  for (let i = 0; i < vector.length; i++) if (!Number.isFinite(vector[i]!)) return false
  return true
}

/** A vector, or a reason it is not one (PostgreSQL cannot store NaN in a vector; an Infinity breaks cosine distance). */
const toVector = (embedding: unknown): Float32Array | string => {
  let vector: Float32Array | undefined
  if (typeof embedding === "string") vector = embedding.length % 4 === 0 ? decodeBase64(embedding) : undefined
  else if (Array.isArray(embedding) && embedding.every((x) => typeof x === "number")) vector = Float32Array.from(embedding)
  if (vector === undefined) return "no valid vector"
  return allFinite(vector) ? vector : "a vector with NaN or Infinity"
}

/** Splits texts into requests within the input and token limits, keeping order. */
export const chunk = (texts: ReadonlyArray<string>, batchSize: number): Array<Array<string>> => {
  const chunks: Array<Array<string>> = []
  let current: Array<string> = []
  let tokens = 0
  for (const text of texts) {
    const cost = Buffer.byteLength(text, "utf8")
    if (current.length > 0 && (current.length >= batchSize || tokens + cost > MAX_TOKENS_PER_REQUEST)) {
      chunks.push(current)
      current = []
      tokens = 0
    }
    current.push(text)
    tokens += cost
  }
  if (current.length > 0) chunks.push(current)
  return chunks
}

interface EmbedRequest extends Request.Request<Float32Array, EmbeddingFailed> {
  readonly _tag: "EmbedRequest"
  readonly text: string
}
const EmbedRequest = Request.tagged<EmbedRequest>("EmbedRequest")

export const make = (options: OpenAiEmbedderOptions) =>
  Effect.gen(function*() {
    const batchSize = Math.min(MAX_INPUTS_PER_REQUEST, options.batchSize ?? 100)
    const timeout = Duration.decode(options.timeout ?? "30 seconds")
    const deadline = Duration.decode(options.deadline ?? "60 seconds")
    const client = new OpenAI({
      // Compatible servers often need no key, but the SDK insists on one.
      apiKey: options.apiKey ? Redacted.value(options.apiKey) : "unused",
      ...(options.baseUrl ? { baseURL: options.baseUrl } : {}),
      maxRetries: 0, // retries are ours, with Retry-After honoured and a deadline per try
      timeout: Duration.toMillis(timeout)
    })
    const permits = yield* Effect.makeSemaphore(options.concurrency ?? 4)
    const retryPolicy = Schedule.identity<CallError>().pipe(
      Schedule.intersect(Schedule.jittered(Schedule.exponential(Duration.millis(250)))),
      Schedule.modifyDelay(([error], delay) =>
        error.retryAfter && Duration.greaterThan(error.retryAfter, delay) ? error.retryAfter : delay),
      Schedule.intersect(Schedule.recurs(options.maxRetries ?? 5)),
      Schedule.whileInput((error: CallError) => error.retryable)
    )

    const request = (texts: ReadonlyArray<string>, dimensions: number | undefined) =>
      Effect.tryPromise({
        try: (signal) =>
          client.embeddings.create({
            model: options.model,
            input: texts as Array<string>,
            encoding_format: "base64",
            ...(dimensions !== undefined && shortenable(options.model) ? { dimensions } : {})
          }, { signal }),
        catch: classify
      }).pipe(
        Effect.timeoutFail({
          duration: timeout,
          onTimeout: () => new CallError({ message: `no answer within ${Duration.format(timeout)}`, retryable: true, retryAfter: undefined })
        }),
        permits.withPermits(1)
      )

    /**
     * One API request for one chunk, retried within the deadline, checked: one
     * finite vector per input, all `expected` wide.
     */
    const embedChunk = (texts: ReadonlyArray<string>, expected: number | undefined) =>
      Effect.suspend(() => {
        const started = Date.now()
        const left = () => Duration.toMillis(deadline) - (Date.now() - started)
        // A wait the server asks for that would end past the deadline is not waited.
        const beyondDeadline = (e: CallError) => e.retryAfter !== undefined && Duration.toMillis(e.retryAfter) > left()
        return request(texts, expected).pipe(
          Effect.retry({ schedule: retryPolicy, while: (e) => e.retryable && !beyondDeadline(e) }),
          Effect.timeoutFail({
            duration: deadline,
            onTimeout: () => new CallError({ message: `no answer within the ${Duration.format(deadline)} deadline (MEMORY_EMBEDDING_DEADLINE)`, retryable: false, retryAfter: undefined })
          }),
          Effect.mapError((e) =>
            new EmbeddingFailed({
              message: `embedding request to ${options.model} failed: ${e.message}` +
                (e.retryable && beyondDeadline(e)
                  ? ` (the server asks to retry after ${Duration.format(e.retryAfter!)}, past the ${Duration.format(deadline)} deadline)`
                  : "")
            })
          )
        )
      }).pipe(
        Effect.flatMap((response) => {
          const vectors: Array<Float32Array | string> = Array.from({ length: texts.length }, () => "no vector")
          const data: ReadonlyArray<{ readonly index?: unknown; readonly embedding?: unknown }> = Array.isArray(response?.data) ? response.data : []
          for (const item of data) {
            const index = typeof item.index === "number" ? item.index : -1
            if (index >= 0 && index < texts.length) vectors[index] = toVector(item.embedding)
          }
          const first = vectors[0]
          const width = expected ?? (typeof first === "string" ? undefined : first?.length)
          const bad = vectors.findIndex((v) => typeof v === "string" || v.length !== width || v.length === 0)
          if (data.length !== texts.length || bad !== -1) {
            const what = vectors[bad]
            return Effect.fail(new EmbeddingFailed({
              message: `malformed response from ${options.model}: ${data.length} embeddings for ${texts.length} inputs` +
                (what === undefined ? "" : `; input ${bad} has ${typeof what === "string" ? what : `a ${what.length}-wide vector, expected ${width}`}`)
            }))
          }
          return Effect.succeed(vectors as Array<Float32Array>)
        }),
        Effect.withSpan("OpenAiEmbedder.request", { attributes: { "embedding.model": options.model, "embedding.inputs": texts.length } })
      )

    // The width: configured, known, or asked of the server once.
    const dimensions = options.dimensions ?? NATIVE_DIMENSIONS[options.model] ??
      (yield* Effect.map(embedChunk(["dimension probe"], undefined), ([v]) => v!.length))

    const embedMany: EmbedderService["embedMany"] = (texts) =>
      texts.length === 0
        ? Effect.succeed([])
        : Effect.forEach(chunk(texts, batchSize), (part) => embedChunk(part, dimensions), {
          concurrency: options.concurrency ?? 4
        }).pipe(Effect.map((parts) => parts.flat()))

    const resolver = RequestResolver.makeBatched((requests: ReadonlyArray<EmbedRequest>) => {
      const texts = [...new Set(requests.map((r) => r.text))]
      return embedMany(texts).pipe(
        Effect.flatMap((vectors) => {
          const byText = new Map(texts.map((t, i) => [t, vectors[i]!]))
          return Effect.forEach(requests, (r) => Request.succeed(r, byText.get(r.text)!), { discard: true })
        }),
        Effect.catchAll((error) => Effect.forEach(requests, (r) => Request.fail(r, error), { discard: true }))
      )
    })
    const loader = yield* dataLoader(resolver, {
      window: options.coalesceWindow ?? Duration.millis(2),
      maxBatchSize: batchSize
    })

    return {
      model: options.model,
      dimensions,
      embedMany,
      embed: (text) => Effect.request(EmbedRequest({ text }), loader)
    } satisfies EmbedderService
  })

export const layer = (options: OpenAiEmbedderOptions) => Layer.scoped(Embedder, make(options))

export const config: Config.Config<OpenAiEmbedderOptions> = Config.all({
  model: Config.string("MEMORY_EMBEDDING_MODEL").pipe(Config.withDefault("text-embedding-3-small")),
  dimensions: Config.option(
    Config.integer("MEMORY_DIMENSIONS").pipe(
      Config.validate({ message: "must be a whole number from 2 to 16000", validation: (n) => n >= 2 && n <= 16000 })
    )
  ).pipe(Config.map(Option.getOrUndefined)),
  apiKey: Config.option(Config.redacted("OPENAI_API_KEY")).pipe(Config.map(Option.getOrUndefined)),
  baseUrl: Config.option(Config.url("OPENAI_BASE_URL")).pipe(Config.map((url) => Option.getOrUndefined(Option.map(url, String)))),
  batchSize: Config.integer("MEMORY_EMBEDDING_BATCH_SIZE").pipe(
    Config.validate({
      message: `must be a whole number from 1 to ${MAX_INPUTS_PER_REQUEST}`,
      validation: (n) => n >= 1 && n <= MAX_INPUTS_PER_REQUEST
    }),
    Config.withDefault(100)
  ),
  concurrency: positiveInt("MEMORY_EMBEDDING_CONCURRENCY", 4),
  timeout: duration("MEMORY_EMBEDDING_TIMEOUT", Duration.seconds(30)),
  maxRetries: Config.integer("MEMORY_EMBEDDING_RETRIES").pipe(
    Config.validate({ message: "must be a whole number of 0 or more", validation: (n) => n >= 0 }),
    Config.withDefault(5)
  ),
  deadline: duration("MEMORY_EMBEDDING_DEADLINE", Duration.seconds(60)),
  coalesceWindow: duration("MEMORY_EMBEDDING_WINDOW", Duration.millis(2))
}).pipe(
  Config.mapOrFail((options) =>
    options.apiKey !== undefined || options.baseUrl !== undefined
      ? Either.right(options)
      : Either.left(ConfigError.InvalidData(["OPENAI_API_KEY"], "required unless OPENAI_BASE_URL names a server that needs none"))
  )
)

export const layerConfig = (options: Config.Config<OpenAiEmbedderOptions> = config) =>
  Layer.scoped(Embedder, Effect.flatMap(options, make))
