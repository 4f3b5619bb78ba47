/**
 * The fake OpenAI server, exercised through the real `openai` SDK so that what
 * the tests prove is what production code will see.
 */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import OpenAI, {
  APIConnectionError,
  APIConnectionTimeoutError,
  AuthenticationError,
  BadRequestError,
  InternalServerError,
  RateLimitError
} from "openai"
import { defaultDimensions, type FakeOpenAi, fakeEmbedding, makeFakeOpenAi, MAX_INPUTS } from "./support/FakeOpenAi.ts"

const API_KEY = "sk-test-fake"
const MODEL = "text-embedding-3-small"

/** A real SDK client aimed at the fake; no retries unless a test asks, so each call is one request. */
const clientFor = (fake: FakeOpenAi, options: { apiKey?: string; maxRetries?: number } = {}) =>
  new OpenAI({ apiKey: options.apiKey ?? API_KEY, baseURL: fake.baseUrl, maxRetries: options.maxRetries ?? 0 })

/** Runs an SDK call that must succeed. */
const call = <A>(f: () => Promise<A>) => Effect.promise(f)

/** Runs an SDK call that must fail, and yields what it threw. */
const failure = <A>(f: () => Promise<A>) => Effect.flip(Effect.tryPromise({ try: f, catch: (error) => error }))

/** Asserts the class of an error and narrows it for the checks that follow. */
const narrow = <T>(error: unknown, ctor: new(...args: Array<never>) => T): T => {
  expect(error).toBeInstanceOf(ctor)
  return error as T
}

const norm = (v: ReadonlyArray<number>) => Math.sqrt(v.reduce((sum, x) => sum + x * x, 0))

describe("FakeOpenAi", () => {
  it.scoped("float and SDK-decoded base64 carry exactly the same deterministic numbers", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi({ apiKey: API_KEY })
      const client = clientFor(fake)
      const input = ["The cat sat on the mat", "A dog barked"]

      const asFloat = yield* call(() => client.embeddings.create({ model: MODEL, input, encoding_format: "float" }))
      // No encoding_format: the SDK asks for base64 itself and decodes it to number[].
      const asDefault = yield* call(() => client.embeddings.create({ model: MODEL, input }))

      expect(asFloat.object).toBe("list")
      expect(asFloat.model).toBe(MODEL)
      expect(asFloat.usage).toEqual({ prompt_tokens: 9, total_tokens: 9 }) // 6 + 3 words
      expect(asFloat.data.map((d) => d.index)).toEqual([0, 1])
      for (const [i, text] of input.entries()) {
        const expected = fakeEmbedding(text, defaultDimensions(MODEL))
        expect(asFloat.data[i]?.embedding).toEqual(expected)
        expect(Array.isArray(asDefault.data[i]?.embedding)).toBe(true)
        expect(asDefault.data[i]?.embedding).toEqual(expected)
        expect(norm(expected)).toBeCloseTo(1, 5)
      }
      expect(fake.requests().map((r) => r.encodingFormat)).toEqual(["float", "base64"])
    }))

  it.scoped("an explicit base64 request is returned undecoded by the SDK", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const client = clientFor(fake)
      const response = yield* call(() => client.embeddings.create({ model: MODEL, input: "hi", dimensions: 4, encoding_format: "base64" }))
      // Typed as number[], but it is the raw string: the SDK only decodes when it chose base64 itself.
      const raw: unknown = response.data[0]?.embedding
      expect(typeof raw).toBe("string")
      const bytes = Buffer.from(String(raw), "base64")
      const decoded = Array.from({ length: bytes.length / 4 }, (_, i) => bytes.readFloatLE(i * 4))
      expect(decoded).toEqual(fakeEmbedding("hi", 4))
    }))

  it.scoped("honours dimensions and per-model default widths", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const client = clientFor(fake)
      const small = yield* call(() => client.embeddings.create({ model: MODEL, input: "x", dimensions: 256 }))
      const large = yield* call(() => client.embeddings.create({ model: "text-embedding-3-large", input: "x" }))
      const ada = yield* call(() => client.embeddings.create({ model: "text-embedding-ada-002", input: "x" }))
      expect(small.data[0]?.embedding).toHaveLength(256)
      expect(small.data[0]?.embedding).toEqual(fakeEmbedding("x", 256))
      expect(large.data[0]?.embedding).toHaveLength(3072)
      expect(ada.data[0]?.embedding).toHaveLength(1536)
      // Different text, different vector; same text, same vector.
      expect(fakeEmbedding("x", 8)).not.toEqual(fakeEmbedding("y", 8))
      expect(fakeEmbedding("x", 8)).toEqual(fakeEmbedding("x", 8))
      expect(fake.requests().map((r) => r.dimensions)).toEqual([256, undefined, undefined])
    }))

  it.scoped("rejects what the real API rejects, with OpenAI-style errors", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const client = clientFor(fake)

      const tooMany = Array.from({ length: MAX_INPUTS + 1 }, (_, i) => `text ${i}`)
      const batch = narrow(yield* failure(() => client.embeddings.create({ model: MODEL, input: tooMany })), BadRequestError)
      expect(batch.status).toBe(400)
      expect(batch.type).toBe("invalid_request_error")
      expect(batch.param).toBe("input")

      // Exactly the limit is fine (1 dimension keeps the answer small).
      const atLimit = yield* call(() => client.embeddings.create({ model: MODEL, input: tooMany.slice(1), dimensions: 1 }))
      expect(atLimit.data).toHaveLength(MAX_INPUTS)

      const empty = narrow(yield* failure(() => client.embeddings.create({ model: MODEL, input: "" })), BadRequestError)
      expect(empty.param).toBe("input")

      const ada = narrow(
        yield* failure(() => client.embeddings.create({ model: "text-embedding-ada-002", input: "x", dimensions: 8 })),
        BadRequestError
      )
      expect(ada.param).toBe("dimensions")
      expect(ada.message).toContain("does not support specifying dimensions")

      expect(fake.requests().map((r) => r.outcome)).toEqual(["rejected", "answered", "rejected", "rejected"])
      expect(fake.requests()[0]?.inputCount).toBe(MAX_INPUTS + 1)
    }))

  it.scoped("checks the API key when given one", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi({ apiKey: API_KEY })
      const wrong = narrow(
        yield* failure(() => clientFor(fake, { apiKey: "sk-wrong-key" }).embeddings.create({ model: MODEL, input: "x" })),
        AuthenticationError
      )
      expect(wrong.status).toBe(401)
      expect(wrong.code).toBe("invalid_api_key")
      const right = yield* call(() => clientFor(fake).embeddings.create({ model: MODEL, input: "x", dimensions: 2 }))
      expect(right.data).toHaveLength(1)
      expect(fake.requests()[0]?.headers["authorization"]).toBe("Bearer sk-wrong-key")
    }))

  it.scoped("RateLimited is a RateLimitError with its retry-after headers visible", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      fake.fail({ _tag: "RateLimited", retryAfterSeconds: 7, retryAfterMs: 7000 })
      const error = narrow(yield* failure(() => clientFor(fake).embeddings.create({ model: MODEL, input: "x" })), RateLimitError)
      expect(error.status).toBe(429)
      expect(error.code).toBe("rate_limit_exceeded")
      expect(error.headers.get("retry-after")).toBe("7")
      expect(error.headers.get("retry-after-ms")).toBe("7000")
      expect(fake.faultedCount()).toBe(1)
    }))

  it.scoped("ServerError is an InternalServerError with the chosen status", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const client = clientFor(fake)
      fake.fail({ _tag: "ServerError" }, { _tag: "ServerError", status: 503 })
      const first = narrow(yield* failure(() => client.embeddings.create({ model: MODEL, input: "x" })), InternalServerError)
      const second = narrow(yield* failure(() => client.embeddings.create({ model: MODEL, input: "x" })), InternalServerError)
      expect([first.status, second.status]).toEqual([500, 503])
      expect(first.type).toBe("server_error")
    }))

  it.scoped("Hang makes the SDK time out", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      fake.fail({ _tag: "Hang" })
      const client = new OpenAI({ apiKey: API_KEY, baseURL: fake.baseUrl, maxRetries: 0, timeout: 300 })
      const error = yield* failure(() => client.embeddings.create({ model: MODEL, input: "x" }))
      expect(error).toBeInstanceOf(APIConnectionTimeoutError)
      expect(fake.requests()[0]).toMatchObject({ outcome: "faulted", fault: "Hang", status: undefined })
    }))

  it.scoped("closing the scope ends a hung request instead of waiting for it", () =>
    Effect.gen(function*() {
      let pending: Promise<unknown> = Promise.resolve()
      yield* Effect.scoped(Effect.gen(function*() {
        const fake = yield* makeFakeOpenAi()
        fake.fail({ _tag: "Hang" })
        // No timeout: only the server closing can end this request.
        pending = clientFor(fake).embeddings.create({ model: MODEL, input: "x" })
        while (fake.requestCount() === 0) yield* Effect.promise(() => new Promise((r) => setTimeout(r, 5)))
      }))
      const error = yield* failure(() => pending)
      expect(error).toBeInstanceOf(APIConnectionError)
    }))

  it.scoped("Malformed gives a parse error, or data of the wrong shape", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const client = clientFor(fake)
      fake.fail({ _tag: "Malformed" }, { _tag: "Malformed", body: "{\"object\":\"list\"}" })
      // Broken JSON surfaces as a bare SyntaxError, not as an OpenAI error class.
      const broken = yield* failure(() => client.embeddings.create({ model: MODEL, input: "x" }))
      expect(broken).toBeInstanceOf(SyntaxError)
      // Valid JSON of the wrong shape is passed through unchecked.
      const shapeless = yield* call(() => client.embeddings.create({ model: MODEL, input: "x" }))
      expect(shapeless.data).toBeUndefined()
    }))

  it.scoped("WrongCount and WrongDimensions corrupt an otherwise good answer", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const client = clientFor(fake)
      fake.fail({ _tag: "WrongCount" }, { _tag: "WrongDimensions" })
      const short = yield* call(() => client.embeddings.create({ model: MODEL, input: ["a", "b", "c"], dimensions: 8 }))
      const narrowVectors = yield* call(() => client.embeddings.create({ model: MODEL, input: ["a", "b"], dimensions: 8 }))
      expect(short.data).toHaveLength(2)
      expect(narrowVectors.data.map((d) => d.embedding.length)).toEqual([7, 7])
      expect(fake.faultedCount()).toBe(2)
      expect(fake.answeredCount()).toBe(0)
    }))

  it.scoped("records every request and resets", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      const client = clientFor(fake)
      yield* call(() => client.embeddings.create({ model: MODEL, input: ["one", "two"], dimensions: 3 }))
      yield* call(() => client.embeddings.create({ model: "text-embedding-3-large", input: [[1, 2, 3], [4]], dimensions: 2 }))
      fake.fail({ _tag: "ServerError" })
      yield* failure(() => client.embeddings.create({ model: MODEL, input: "three" }))

      expect(fake.requestCount()).toBe(3)
      expect(fake.answeredCount()).toBe(2)
      expect(fake.faultedCount()).toBe(1)
      expect(fake.requests().map(({ dimensions, inputCount, inputs, model }) => ({ model, dimensions, inputCount, inputs }))).toEqual([
        { model: MODEL, dimensions: 3, inputCount: 2, inputs: ["one", "two"] },
        { model: "text-embedding-3-large", dimensions: 2, inputCount: 2, inputs: [[1, 2, 3], [4]] },
        { model: MODEL, dimensions: undefined, inputCount: 1, inputs: ["three"] }
      ])

      fake.fail({ _tag: "Hang" })
      fake.reset()
      expect(fake.requestCount()).toBe(0)
      expect(fake.pendingFaults()).toBe(0)
      const after = yield* call(() => client.embeddings.create({ model: MODEL, input: "x", dimensions: 2 }))
      expect(after.data).toHaveLength(1)
    }))

  it.scoped("the SDK retries a 429 after retry-after-ms, and says which attempt it is", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi()
      fake.fail({ _tag: "RateLimited", retryAfterMs: 20 })
      const client = clientFor(fake, { maxRetries: 2 })
      const response = yield* call(() => client.embeddings.create({ model: MODEL, input: "x", dimensions: 2 }))
      expect(response.data).toHaveLength(1)
      expect(fake.requests().map((r) => [r.status, r.headers["x-stainless-retry-count"]])).toEqual([[429, "0"], [200, "1"]])
    }))

  it.scoped("latency delays answers", () =>
    Effect.gen(function*() {
      const fake = yield* makeFakeOpenAi({ latencyMs: 150 })
      const client = clientFor(fake)
      const timed = () => {
        const start = Date.now()
        return client.embeddings.create({ model: MODEL, input: "x", dimensions: 2 }).then(() => Date.now() - start)
      }
      expect(yield* call(timed)).toBeGreaterThanOrEqual(140)
      fake.setLatency(0)
      expect(yield* call(timed)).toBeLessThan(140)
    }))
})
