/**
 * A fake OpenAI embeddings API for tests: a real `node:http` server on a free
 * loopback port that the real `openai` SDK can talk to (`baseURL = fake.baseUrl`).
 *
 * Why a real server rather than a mocked `fetch`: the SDK's own behaviour
 * (base64 decoding, retries, timeouts, error classes, headers) is part of what
 * the code under test depends on, so it has to run for real.
 *
 * - Vectors are deterministic per (input, dimensions); see `fakeEmbedding`.
 * - Requests are validated like the real API (400/401 with OpenAI-style bodies).
 * - Every embeddings request is recorded.
 * - Faults can be queued; each request to `/v1/embeddings` consumes the next one.
 */
import { Effect, type Scope } from "effect"
import * as Http from "node:http"
import type { Socket } from "node:net"

// ---------------------------------------------------------------------------
// Public types
// ---------------------------------------------------------------------------

/** One injected misbehaviour, consumed by the next embeddings request (FIFO). */
export type Fault =
  /** 429 with `retry-after` (seconds) and/or `retry-after-ms` headers, which the SDK honours when it retries. */
  | { readonly _tag: "RateLimited"; readonly retryAfterSeconds?: number; readonly retryAfterMs?: number }
  /** A 5xx (default 500) with an OpenAI-style `server_error` body. */
  | { readonly _tag: "ServerError"; readonly status?: number }
  /** Never answers; only a client timeout (or closing the server) ends it. */
  | { readonly _tag: "Hang" }
  /** 200 `application/json` whose body is not valid JSON (default) or is `body` verbatim. */
  | { readonly _tag: "Malformed"; readonly body?: string }
  /** 200 with one embedding fewer than there were inputs. */
  | { readonly _tag: "WrongCount" }
  /** 200 with every vector one element shorter than asked for. */
  | { readonly _tag: "WrongDimensions" }
  /** 200 whose first vector starts with NaN (base64 carries it; as floats it is sent as `null`). */
  | { readonly _tag: "NonFinite" }

/** A single input as sent: text, or an array of token ids. */
export type EmbeddingInput = string | ReadonlyArray<number>

/**
 * How a request ended:
 * - `answered`: a normal, correct embeddings response;
 * - `rejected`: a 400/401 the real API would also give;
 * - `faulted`: an injected fault decided the response (see `fault`).
 */
export type Outcome = "answered" | "rejected" | "faulted"

export interface RecordedRequest {
  /** `model` as sent, if it was a string. */
  readonly model: string | undefined
  /** Inputs normalised to a list (a lone string or token array counts as one). Empty if the body was unusable. */
  readonly inputs: ReadonlyArray<EmbeddingInput>
  readonly inputCount: number
  readonly dimensions: number | undefined
  readonly encodingFormat: string | undefined
  /** Request headers (lower-cased names), e.g. to see `x-stainless-retry-count`. */
  readonly headers: Readonly<Record<string, string>>
  readonly outcome: Outcome
  /** HTTP status sent back; `undefined` for a hung request. */
  readonly status: number | undefined
  /** The fault this request consumed, if any. */
  readonly fault: Fault["_tag"] | undefined
}

export interface FakeOpenAi {
  /** Base URL for the SDK, e.g. `http://127.0.0.1:54321/v1`. */
  readonly baseUrl: string
  /** Every request to `/v1/embeddings` so far, oldest first. */
  readonly requests: () => ReadonlyArray<RecordedRequest>
  readonly requestCount: () => number
  /** Requests that got a normal, correct answer. */
  readonly answeredCount: () => number
  /** Requests whose response was decided by an injected fault. */
  readonly faultedCount: () => number
  /** Faults queued but not yet consumed. */
  readonly pendingFaults: () => number
  /** Forgets all recorded requests and queued faults (latency is kept). */
  readonly reset: () => void
  /** Queues faults; each is consumed by the next embeddings request. */
  readonly fail: (...faults: ReadonlyArray<Fault>) => void
  /** Delay before every answered request, to imitate a remote API. */
  readonly setLatency: (ms: number) => void
}

export interface FakeOpenAiOptions {
  /** If set, requests must carry `Authorization: Bearer <apiKey>` or get a 401. */
  readonly apiKey?: string
  readonly latencyMs?: number
}

// ---------------------------------------------------------------------------
// Models and deterministic vectors
// ---------------------------------------------------------------------------

/** The real API's maximum number of inputs per request. */
export const MAX_INPUTS = 2048

/** Native widths of the known models; also the largest `dimensions` they accept. */
const MODEL_WIDTHS: Readonly<Record<string, number>> = {
  "text-embedding-3-small": 1536,
  "text-embedding-3-large": 3072,
  "text-embedding-ada-002": 1536
}

/** Models that reject the `dimensions` parameter, as ada-002 does. */
const FIXED_WIDTH_MODELS: ReadonlySet<string> = new Set(["text-embedding-ada-002"])

const DEFAULT_WIDTH = 1536

/** Vector width the fake uses for `model` when no `dimensions` is given. */
export const defaultDimensions = (model: string): number => MODEL_WIDTHS[model] ?? DEFAULT_WIDTH

/** FNV-1a over the UTF-8 bytes: cheap, stable across runs and platforms. */
const fnv1a = (text: string): number => {
  let hash = 0x811c9dc5
  for (const byte of Buffer.from(text, "utf8")) {
    hash ^= byte
    hash = Math.imul(hash, 0x01000193)
  }
  return hash >>> 0
}

/** mulberry32: a tiny seeded PRNG, so each input always yields the same stream. */
const mulberry32 = (seed: number) => {
  let state = seed >>> 0
  return (): number => {
    state = (state + 0x6d2b79f5) >>> 0
    let t = state
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

/** Token arrays get their own key space so `[1, 2]` never collides with the text "1,2". */
const seedKey = (input: EmbeddingInput): string => typeof input === "string" ? input : `\u0000tokens:${input.join(",")}`

/**
 * The vector the fake returns for `input` at width `dimensions`: seeded from a
 * hash of the input, L2-normalised, each element rounded to float32 so that
 * the `float` and `base64` encodings carry exactly the same numbers.
 *
 * Like text-embedding-3, a narrower vector is the re-normalised prefix of a
 * wider one (the PRNG stream does not depend on the width).
 */
export const fakeEmbedding = (input: EmbeddingInput, dimensions: number): Array<number> => {
  const next = mulberry32(fnv1a(seedKey(input)))
  const raw = Array.from({ length: dimensions }, () => next() * 2 - 1)
  const norm = Math.sqrt(raw.reduce((sum, x) => sum + x * x, 0)) || 1
  return raw.map((x) => Math.fround(x / norm))
}

/** Little-endian float32 bytes, base64: what the API sends for `encoding_format: "base64"`. */
export const encodeBase64 = (vector: ReadonlyArray<number>): string => {
  const view = new DataView(new ArrayBuffer(vector.length * 4))
  vector.forEach((x, i) => view.setFloat32(i * 4, x, true))
  return Buffer.from(view.buffer).toString("base64")
}

/** Rough token count: words for text, length for token arrays (min 1 per input). */
const countTokens = (input: EmbeddingInput): number =>
  typeof input === "string" ? Math.max(1, input.split(/\s+/).filter((w) => w.length > 0).length) : input.length

// ---------------------------------------------------------------------------
// Request parsing and validation
// ---------------------------------------------------------------------------

interface OpenAiErrorBody {
  readonly error: {
    readonly message: string
    readonly type: string
    readonly param: string | null
    readonly code: string | null
  }
}

/** A response the real API would also give: status plus an OpenAI-style error body. */
interface ApiError {
  readonly status: number
  readonly body: OpenAiErrorBody
}

const invalidRequest = (message: string, param: string | null = null, code: string | null = null): ApiError => ({
  status: 400,
  body: { error: { message, type: "invalid_request_error", param, code } }
})

/** A request that passed validation. */
interface EmbeddingRequest {
  readonly model: string
  readonly inputs: ReadonlyArray<EmbeddingInput>
  readonly dimensions: number
  readonly encodingFormat: "float" | "base64"
}

/** What could be read from the body, even when invalid, for the record. */
interface Loose {
  readonly model: string | undefined
  readonly inputs: ReadonlyArray<EmbeddingInput>
  readonly dimensions: number | undefined
  readonly encodingFormat: string | undefined
}

const isRecord = (u: unknown): u is Readonly<Record<string, unknown>> =>
  typeof u === "object" && u !== null && !Array.isArray(u)

const isTokenArray = (u: unknown): u is ReadonlyArray<number> =>
  Array.isArray(u) && u.every((t) => typeof t === "number" && Number.isInteger(t) && t >= 0)

/** Normalises `input` to a list of inputs, or says why it cannot. */
const normaliseInput = (input: unknown): ReadonlyArray<EmbeddingInput> | string => {
  if (typeof input === "string") return [input]
  if (!Array.isArray(input)) return "'input' must be a string, an array of strings, or an array of token arrays."
  // A flat array of integers is a single tokenised input, as in the real API.
  if (input.length > 0 && input.every((t) => typeof t === "number")) {
    return isTokenArray(input) ? [input] : "Token ids in 'input' must be non-negative integers."
  }
  const inputs: Array<EmbeddingInput> = []
  for (const item of input) {
    if (typeof item === "string" || isTokenArray(item)) inputs.push(item)
    else return "'input' must be a string, an array of strings, or an array of token arrays."
  }
  return inputs
}

/** Best-effort reading of the body for the record, before validation. */
const loosen = (body: unknown): Loose => {
  if (!isRecord(body)) return { model: undefined, inputs: [], dimensions: undefined, encodingFormat: undefined }
  const inputs = normaliseInput(body["input"])
  return {
    model: typeof body["model"] === "string" ? body["model"] : undefined,
    inputs: typeof inputs === "string" ? [] : inputs,
    dimensions: typeof body["dimensions"] === "number" ? body["dimensions"] : undefined,
    encodingFormat: typeof body["encoding_format"] === "string" ? body["encoding_format"] : undefined
  }
}

/** The real API's checks, in roughly its order. */
const validate = (body: unknown): EmbeddingRequest | ApiError => {
  if (!isRecord(body)) {
    return invalidRequest("We could not parse the JSON body of your request. The OpenAI API expects a JSON payload.")
  }
  const model = body["model"]
  if (typeof model !== "string" || model.length === 0) {
    return invalidRequest("you must provide a model parameter")
  }
  if (body["input"] === undefined) return invalidRequest("'input' is a required property", "input")
  const inputs = normaliseInput(body["input"])
  if (typeof inputs === "string") return invalidRequest(inputs, "input")
  if (inputs.length === 0) return invalidRequest("'$.input' is invalid: it must not be empty.", "input")
  if (inputs.length > MAX_INPUTS) {
    return invalidRequest(`'$.input' is invalid: at most ${MAX_INPUTS} inputs are allowed, got ${inputs.length}.`, "input")
  }
  if (inputs.some((i) => i.length === 0)) {
    return invalidRequest("'$.input' is invalid: inputs must not be empty.", "input")
  }

  const rawDimensions = body["dimensions"]
  let dimensions = defaultDimensions(model)
  if (rawDimensions !== undefined && rawDimensions !== null) {
    if (FIXED_WIDTH_MODELS.has(model)) {
      return invalidRequest("This model does not support specifying dimensions.", "dimensions")
    }
    const max = MODEL_WIDTHS[model] ?? Number.MAX_SAFE_INTEGER
    if (typeof rawDimensions !== "number" || !Number.isInteger(rawDimensions) || rawDimensions < 1 || rawDimensions > max) {
      return invalidRequest(`Invalid value for 'dimensions': must be an integer between 1 and ${max}.`, "dimensions")
    }
    dimensions = rawDimensions
  }

  const format = body["encoding_format"] ?? "float"
  if (format !== "float" && format !== "base64") {
    return invalidRequest(`Invalid value for 'encoding_format': '${String(format)}'. Expected 'float' or 'base64'.`, "encoding_format")
  }
  return { model, inputs, dimensions, encodingFormat: format }
}

const isApiError = (u: EmbeddingRequest | ApiError): u is ApiError => "status" in u

/** Missing or wrong bearer token, worded like the real API. */
const checkAuth = (apiKey: string | undefined, header: string | undefined): ApiError | undefined => {
  if (apiKey === undefined || header === `Bearer ${apiKey}`) return undefined
  const sent = header?.startsWith("Bearer ") ? header.slice("Bearer ".length) : undefined
  const message = sent === undefined || sent.length === 0
    ? "You didn't provide an API key. You need to provide your API key in an Authorization header using Bearer auth (i.e. Authorization: Bearer YOUR_KEY)."
    : `Incorrect API key provided: ${sent.slice(0, 3)}***${sent.slice(-4)}.`
  return {
    status: 401,
    body: { error: { message, type: "invalid_request_error", param: null, code: sent === undefined ? null : "invalid_api_key" } }
  }
}

// ---------------------------------------------------------------------------
// Responses
// ---------------------------------------------------------------------------

/** What the fake decided to send (a hang sends nothing and has no Reply). */
interface Reply {
  readonly status: number
  readonly headers?: Readonly<Record<string, string>>
  /** Sent verbatim (already serialised), so faults can send broken JSON. */
  readonly body: string
}

const json = (status: number, body: unknown, headers: Readonly<Record<string, string>> = {}): Reply => ({
  status,
  headers,
  body: JSON.stringify(body)
})

/** The success body, optionally corrupted by a WrongCount/WrongDimensions fault. */
type Corruption = "WrongCount" | "WrongDimensions" | "NonFinite"

const embeddingsBody = (request: EmbeddingRequest, corruption: Corruption | undefined) => {
  const width = corruption === "WrongDimensions" ? request.dimensions - 1 : request.dimensions
  const inputs = corruption === "WrongCount" ? request.inputs.slice(0, -1) : request.inputs
  // Tokens count what was sent, not what was returned: billing is on input.
  const tokens = request.inputs.reduce((sum, input) => sum + countTokens(input), 0)
  return {
    object: "list",
    data: inputs.map((input, index) => {
      // Compute at the asked width and then trim, so a short vector is a wrong prefix, not a renormalised one.
      const vector = fakeEmbedding(input, request.dimensions).slice(0, width)
      if (corruption === "NonFinite" && index === 0) vector[0] = Number.NaN
      return { object: "embedding", index, embedding: request.encodingFormat === "base64" ? encodeBase64(vector) : vector }
    }),
    model: request.model,
    usage: { prompt_tokens: tokens, total_tokens: tokens }
  }
}

/** The reply for a fault that does not need a valid request. */
const faultReply = (fault: Exclude<Fault, { _tag: "Hang" | Corruption }>): Reply => {
  switch (fault._tag) {
    case "RateLimited": {
      const headers: Record<string, string> = {}
      if (fault.retryAfterSeconds !== undefined) headers["retry-after"] = String(fault.retryAfterSeconds)
      if (fault.retryAfterMs !== undefined) headers["retry-after-ms"] = String(fault.retryAfterMs)
      return json(429, {
        error: {
          message: "Rate limit reached for requests. Please try again later.",
          type: "requests",
          param: null,
          code: "rate_limit_exceeded"
        }
      }, headers)
    }
    case "ServerError":
      return json(fault.status ?? 500, {
        error: {
          message: "The server had an error while processing your request. Sorry about that!",
          type: "server_error",
          param: null,
          code: null
        }
      })
    case "Malformed":
      // Truncated JSON by default: the SDK's `response.json()` then throws.
      return { status: 200, body: fault.body ?? "{\"object\":\"list\",\"data\":[{\"object\":\"embedding\",\"index\":0,\"embedding\":[0.1," }
  }
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

const flattenHeaders = (headers: Http.IncomingHttpHeaders): Record<string, string> => {
  const flat: Record<string, string> = {}
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value
  }
  return flat
}

const readBody = (req: Http.IncomingMessage): Promise<string> =>
  new Promise((resolve, reject) => {
    const chunks: Array<Buffer> = []
    req.on("data", (chunk: Buffer) => chunks.push(chunk))
    req.on("end", () => resolve(Buffer.concat(chunks).toString("utf8")))
    req.on("error", reject)
  })

const parseJson = (text: string): unknown => {
  try {
    return JSON.parse(text)
  } catch {
    return undefined
  }
}

/**
 * Starts the fake on 127.0.0.1 with an ephemeral port. Closing the scope
 * closes the server and destroys every open socket, hung requests included,
 * so a test never waits on a request the fake chose not to answer.
 */
export const makeFakeOpenAi = (options: FakeOpenAiOptions = {}): Effect.Effect<FakeOpenAi, never, Scope.Scope> => {
  const records: Array<RecordedRequest> = []
  const faults: Array<Fault> = []
  const sockets = new Set<Socket>()
  // Latency timers are cleared on close so nothing fires after the test ends.
  const timers = new Set<NodeJS.Timeout>()
  let latencyMs = options.latencyMs ?? 0
  // Sent as x-request-id, which the SDK exposes as `requestID` on errors and `_request_id` on results.
  let requestIds = 0

  const sleep = (ms: number) =>
    new Promise<void>((resolve) => {
      const timer = setTimeout(() => {
        timers.delete(timer)
        resolve()
      }, ms)
      timers.add(timer)
    })

  const send = (res: Http.ServerResponse, reply: Reply) => {
    if (res.destroyed) return // the client gave up (e.g. its timeout) while we waited
    res.writeHead(reply.status, {
      "content-type": "application/json",
      "x-request-id": `req_fake_${++requestIds}`,
      ...reply.headers
    })
    res.end(reply.body)
  }

  /** Decides the reply for one embeddings request and records it. */
  const embeddings = async (req: Http.IncomingMessage, res: Http.ServerResponse) => {
    const headers = flattenHeaders(req.headers)
    const body = parseJson(await readBody(req))
    const loose = loosen(body)
    const record = (outcome: Outcome, status: number | undefined, fault: Fault | undefined) =>
      records.push({ ...loose, inputCount: loose.inputs.length, headers, outcome, status, fault: fault?._tag })

    // Faults come first: they imitate the infrastructure failing, whatever was sent.
    const fault = faults.shift()
    if (fault !== undefined) {
      switch (fault._tag) {
        case "Hang":
          record("faulted", undefined, fault)
          return // never answer; the socket is destroyed on close
        case "RateLimited":
        case "ServerError":
        case "Malformed": {
          const reply = faultReply(fault)
          record("faulted", reply.status, fault)
          return send(res, reply)
        }
        case "WrongCount":
        case "WrongDimensions":
        case "NonFinite":
          break // these corrupt a success, so the request must first succeed
      }
    }

    const rejection = checkAuth(options.apiKey, req.headers.authorization)
    const request = rejection ?? validate(body)
    if (isApiError(request)) {
      record("rejected", request.status, fault)
      return send(res, json(request.status, request.body))
    }

    const corruption = fault?._tag === "WrongCount" || fault?._tag === "WrongDimensions" || fault?._tag === "NonFinite" ? fault._tag : undefined
    record(corruption === undefined ? "answered" : "faulted", 200, fault)
    if (latencyMs > 0) await sleep(latencyMs)
    send(res, json(200, embeddingsBody(request, corruption)))
  }

  const handle = (req: Http.IncomingMessage, res: Http.ServerResponse) => {
    const path = (req.url ?? "/").split("?")[0]
    const route = path === "/v1/embeddings" && req.method === "POST"
      ? embeddings(req, res)
      : Promise.resolve(send(res, json(404, {
        error: { message: `Invalid URL (${req.method ?? "?"} ${path ?? "/"})`, type: "invalid_request_error", param: null, code: null }
      })))
    // A bug in the fake should surface as a 500, not as a hung test.
    route.catch((error: unknown) => send(res, json(500, { error: { message: String(error), type: "server_error", param: null, code: null } })))
  }

  const acquire = Effect.async<Http.Server>((resume) => {
    const server = Http.createServer(handle)
    server.on("connection", (socket) => {
      sockets.add(socket)
      socket.on("close", () => sockets.delete(socket))
    })
    // Failing to bind loopback is an environment defect, not a test outcome.
    server.once("error", (error) => resume(Effect.die(error)))
    server.listen(0, "127.0.0.1", () => resume(Effect.succeed(server)))
  })

  const release = (server: Http.Server) =>
    Effect.async<void>((resume) => {
      for (const timer of timers) clearTimeout(timer)
      timers.clear()
      server.close(() => resume(Effect.void))
      // close() only stops accepting; open (keep-alive or hung) sockets would keep it waiting.
      for (const socket of sockets) socket.destroy()
    })

  return Effect.acquireRelease(acquire, release).pipe(
    Effect.map((server): FakeOpenAi => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      return {
        baseUrl: `http://127.0.0.1:${port}/v1`,
        requests: () => [...records],
        requestCount: () => records.length,
        answeredCount: () => records.filter((r) => r.outcome === "answered").length,
        faultedCount: () => records.filter((r) => r.outcome === "faulted").length,
        pendingFaults: () => faults.length,
        reset: () => {
          records.length = 0
          faults.length = 0
        },
        fail: (...more) => {
          faults.push(...more)
        },
        setLatency: (ms) => {
          latencyMs = ms
        }
      }
    })
  )
}

/** A server process's environment for the memory store embedding through `fake` (8-wide vectors). */
export const serverEnvOver = (fake: Pick<FakeOpenAi, "baseUrl">): Record<string, string> => ({
  MEMORY_STORE: "memory",
  MEMORY_EMBEDDER: "openai",
  OPENAI_BASE_URL: fake.baseUrl,
  MEMORY_EMBEDDING_MODEL: "text-embedding-3-small",
  MEMORY_DIMENSIONS: "8"
})
