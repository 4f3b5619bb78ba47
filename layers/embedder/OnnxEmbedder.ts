/**
 * The `onnx` embedder: a real embedding model run locally on ONNX Runtime,
 * from a directory the user supplies (MEMORY_ONNX_MODEL_DIR) holding
 * `model.onnx` (or `onnx/model.onnx`, the Hugging Face layout) and its
 * `tokenizer.json`. Nothing is downloaded: not at install, not at run time.
 * The packages are optional peers — `npm install onnxruntime-node
 * @huggingface/tokenizers` — imported only when this embedder is chosen.
 *
 * Texts are tokenised (truncated to MEMORY_ONNX_MAX_TOKENS), run in batches,
 * and the model's output is mean-pooled over the real tokens (padding masked
 * out) when it is per token ([batch, tokens, dim], e.g. `last_hidden_state`),
 * or taken as it is when pooled ([batch, dim], e.g. `sentence_embedding`);
 * then L2-normalised. Start-up loads the model and embeds a probe text, so a
 * missing file, a missing package or an output of another shape stops the
 * process with one line instead of failing the first request.
 */
import { createHash } from "node:crypto"
import { createReadStream } from "node:fs"
import { readFile, stat } from "node:fs/promises"
import * as path from "node:path"
import { Config, ConfigError, Effect, Layer } from "effect"
import { EmbeddingFailed } from "../../src/domain/errors.ts"
import { Embedder, type EmbedderService } from "../../src/ports/Embedder.ts"

export interface OnnxEmbedderOptions {
  readonly modelDir: string
  /** Tokens kept per text (the model's own limit is usually 512). */
  readonly maxTokens?: number | undefined
  /** Texts per model run. */
  readonly batchSize?: number | undefined
}

const DEFAULT_MAX_TOKENS = 512
const DEFAULT_BATCH_SIZE = 32
const SUPPORTED_INPUTS = new Set(["input_ids", "attention_mask", "token_type_ids"])

/** The few parts of the two packages used here (typed locally so that users without them still typecheck). */
interface OrtTensor {
  readonly type: string
  readonly dims: ReadonlyArray<number>
  readonly data: unknown
}
interface OrtSession {
  readonly inputNames: ReadonlyArray<string>
  readonly outputNames: ReadonlyArray<string>
  run(feeds: Record<string, OrtTensor>): Promise<Record<string, OrtTensor>>
  release(): Promise<void>
}
export interface OrtModule {
  readonly InferenceSession: { create(path: string): Promise<OrtSession> }
  readonly Tensor: new(type: "int64", data: BigInt64Array, dims: ReadonlyArray<number>) => OrtTensor
}
interface TokenizerInstance {
  encode(text: string): { readonly ids: ReadonlyArray<number | undefined>; readonly attention_mask: ReadonlyArray<number> }
  token_to_id(token: string): number | undefined
}
export interface TokenizersModule {
  readonly Tokenizer: new(tokenizer: object, config: object) => TokenizerInstance
}

/** How the packages are imported; tests replace it to see the missing-package message. */
export interface Runtime {
  readonly ort: () => Promise<OrtModule>
  readonly tokenizers: () => Promise<TokenizersModule>
}

export const defaultRuntime: Runtime = {
  ort: async () => {
    // Its ESM build exports the API directly; a CommonJS interop puts it under `default`.
    const module = (await import("onnxruntime-node")) as unknown as Partial<OrtModule> & { readonly default?: OrtModule }
    return module.InferenceSession ? (module as OrtModule) : module.default!
  },
  tokenizers: async () => (await import("@huggingface/tokenizers")) as unknown as TokenizersModule
}

const invalid = (message: string) => ConfigError.InvalidData(["MEMORY_ONNX_MODEL_DIR"], message)
const failed = (message: string) => new EmbeddingFailed({ message: `onnx embedder: ${message}` })
const reason = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!

const isFile = (file: string) => Effect.promise(() => stat(file).then((s) => s.isFile(), () => false))

const importPackage = <M>(name: string, load: () => Promise<M>) =>
  Effect.tryPromise({
    try: load,
    catch: () =>
      ConfigError.InvalidData(
        ["MEMORY_EMBEDDER"],
        `onnx needs the optional package ${name}: npm install onnxruntime-node @huggingface/tokenizers`
      )
  })

/** The first 12 hex digits of the model file's SHA-256: the vector space's name changes with the weights. */
const fingerprint = (file: string) =>
  Effect.tryPromise({
    try: () =>
      new Promise<string>((resolve, reject) => {
        const hash = createHash("sha256")
        createReadStream(file).on("data", (chunk) => hash.update(chunk)).on("error", reject).on("end", () => resolve(hash.digest("hex").slice(0, 12)))
      }),
    catch: (e) => invalid(`cannot read ${file}: ${reason(e)}`)
  })

export const make = (options: OnnxEmbedderOptions, runtime: Runtime = defaultRuntime) =>
  Effect.gen(function*() {
    const dir = path.resolve(options.modelDir)
    const isDir = yield* Effect.promise(() => stat(dir).then((s) => s.isDirectory(), () => false))
    if (!isDir) return yield* Effect.fail(invalid(`"${dir}" is not a directory`))
    const candidates = [path.join(dir, "model.onnx"), path.join(dir, "onnx", "model.onnx")]
    const modelFile = (yield* Effect.filter(candidates, isFile))[0]
    if (modelFile === undefined) return yield* Effect.fail(invalid(`"${dir}" holds no model.onnx (nor onnx/model.onnx)`))
    const tokenizerFile = path.join(dir, "tokenizer.json")
    if (!(yield* isFile(tokenizerFile))) return yield* Effect.fail(invalid(`"${dir}" holds no tokenizer.json`))

    const ort = yield* importPackage("onnxruntime-node", runtime.ort)
    const { Tokenizer } = yield* importPackage("@huggingface/tokenizers", runtime.tokenizers)
    const readJson = (file: string) =>
      Effect.tryPromise({ try: async () => JSON.parse(await readFile(file, "utf8")) as object, catch: (e) => invalid(`${file} is not JSON: ${reason(e)}`) })
    const tokenizerJson = yield* readJson(tokenizerFile)
    const configFile = path.join(dir, "tokenizer_config.json")
    const tokenizerConfig = (yield* isFile(configFile)) ? yield* readJson(configFile) : {}
    const tokenizer = yield* Effect.try({
      try: () => new Tokenizer(tokenizerJson, tokenizerConfig),
      catch: (e) => invalid(`${tokenizerFile} is not a tokenizer: ${reason(e)}`)
    })
    // A word the vocabulary lacks comes back without an id from some models (WordLevel): it is the unknown token.
    const unknownToken = (tokenizerJson as { model?: { unk_token?: unknown } }).model?.unk_token
    const unknownId = (typeof unknownToken === "string" ? tokenizer.token_to_id(unknownToken) : undefined) ?? 0

    const session = yield* Effect.acquireRelease(
      Effect.tryPromise({ try: () => ort.InferenceSession.create(modelFile), catch: (e) => failed(`cannot load ${modelFile}: ${reason(e)}`) }),
      (s) => Effect.promise(() => s.release().catch(() => undefined))
    )
    const unsupported = session.inputNames.filter((name) => !SUPPORTED_INPUTS.has(name))
    if (unsupported.length > 0 || !session.inputNames.includes("input_ids")) {
      return yield* Effect.fail(failed(`${modelFile} takes inputs [${session.inputNames.join(", ")}]; supported: input_ids with attention_mask and token_type_ids`))
    }
    const outputName = ["sentence_embedding", "last_hidden_state"].find((n) => session.outputNames.includes(n)) ?? session.outputNames[0]!
    const maxTokens = options.maxTokens ?? DEFAULT_MAX_TOKENS
    const batchSize = options.batchSize ?? DEFAULT_BATCH_SIZE

    const runBatch = (texts: ReadonlyArray<string>) =>
      Effect.gen(function*() {
        const encoded = yield* Effect.try({
          try: () => texts.map((t) => tokenizer.encode(t)),
          catch: (e) => failed(`tokenizer: ${reason(e)}`)
        })
        const rows = encoded.map((e) => ({
          ids: e.ids.slice(0, maxTokens).map((id) => id ?? unknownId),
          mask: e.attention_mask.slice(0, maxTokens)
        }))
        const width = Math.max(1, ...rows.map((r) => r.ids.length))
        const ids = new BigInt64Array(texts.length * width)
        const mask = new BigInt64Array(texts.length * width)
        rows.forEach((r, i) =>
          r.ids.forEach((id, j) => {
            ids[i * width + j] = BigInt(id)
            mask[i * width + j] = BigInt(r.mask[j] ?? 1)
          })
        )
        const dims = [texts.length, width]
        const feeds: Record<string, OrtTensor> = { input_ids: new ort.Tensor("int64", ids, dims) }
        if (session.inputNames.includes("attention_mask")) feeds["attention_mask"] = new ort.Tensor("int64", mask, dims)
        if (session.inputNames.includes("token_type_ids")) feeds["token_type_ids"] = new ort.Tensor("int64", new BigInt64Array(ids.length), dims)
        const outputs = yield* Effect.tryPromise({ try: () => session.run(feeds), catch: (e) => failed(`the model failed: ${reason(e)}`) })
        return yield* pool(outputs[outputName], texts.length, width, mask)
      })

    /** [batch, tokens, dim] → masked mean; [batch, dim] → itself; then unit length. */
    const pool = (output: OrtTensor | undefined, batch: number, width: number, mask: BigInt64Array) =>
      Effect.suspend(() => {
        const shape = output === undefined ? "none" : `[${output.dims.join(", ")}] of ${output.type}`
        const perToken = output?.dims.length === 3 && output.dims[0] === batch && output.dims[1] === width
        const pooled = output?.dims.length === 2 && output.dims[0] === batch
        if (output === undefined || output.type !== "float32" || !(perToken || pooled) || output.dims.at(-1)! < 2) {
          return Effect.fail(failed(`output "${outputName}" is ${shape}; expected float32 [batch, tokens, dim] or [batch, dim]`))
        }
        const data = output.data as Float32Array
        const dim = output.dims.at(-1)!
        const vectors: Array<Float32Array> = []
        for (let b = 0; b < batch; b++) {
          const v = new Float32Array(dim)
          if (pooled) v.set(data.subarray(b * dim, (b + 1) * dim))
          else {
            let n = 0
            for (let t = 0; t < width; t++) {
              if (mask[b * width + t] === 0n) continue
              n++
              const at = (b * width + t) * dim
              for (let d = 0; d < dim; d++) v[d]! += data[at + d]!
            }
            for (let d = 0; d < dim; d++) v[d]! /= Math.max(1, n)
          }
          let norm = 0
          for (let d = 0; d < dim; d++) norm += v[d]! * v[d]!
          if (!Number.isFinite(norm) || norm === 0) return Effect.fail(failed(`the model gave a zero or non-finite vector`))
          const scale = 1 / Math.sqrt(norm)
          for (let d = 0; d < dim; d++) v[d]! *= scale
          vectors.push(v)
        }
        return Effect.succeed(vectors)
      })

    const embedMany = (texts: ReadonlyArray<string>) =>
      Effect.map(
        Effect.forEach(Array.from({ length: Math.ceil(texts.length / batchSize) }, (_, i) => texts.slice(i * batchSize, (i + 1) * batchSize)), runBatch),
        (parts) => parts.flat()
      ).pipe(Effect.withSpan("Embedder.onnx", { attributes: { "embed.texts": texts.length }, captureStackTrace: false }))

    // The probe: the width, and the shape checked before the first request.
    const [probe] = yield* embedMany(["dimension probe"])
    const digest = yield* fingerprint(modelFile)
    return {
      model: `onnx:${path.basename(dir)}:${digest}`,
      dimensions: probe!.length,
      embedMany,
      embed: (text) => Effect.map(embedMany([text]), (v) => v[0]!)
    } satisfies EmbedderService
  })

export const layer = (options: OnnxEmbedderOptions, runtime?: Runtime): Layer.Layer<Embedder, ConfigError.ConfigError | EmbeddingFailed> =>
  Layer.scoped(Embedder, make(options, runtime))

const whole = (name: string, fallback: number, max: number) =>
  Config.integer(name).pipe(
    Config.validate({ message: `must be a whole number from 1 to ${max}`, validation: (n) => n >= 1 && n <= max }),
    Config.withDefault(fallback)
  )

export const config: Config.Config<OnnxEmbedderOptions> = Config.all({
  modelDir: Config.string("MEMORY_ONNX_MODEL_DIR"),
  maxTokens: whole("MEMORY_ONNX_MAX_TOKENS", DEFAULT_MAX_TOKENS, 8192),
  batchSize: whole("MEMORY_ONNX_BATCH_SIZE", DEFAULT_BATCH_SIZE, 1024)
})

export const layerConfig = (options: Config.Config<OnnxEmbedderOptions> = config) =>
  Layer.unwrapEffect(Effect.map(options, (o) => layer(o)))
