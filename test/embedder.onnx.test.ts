/**
 * The onnx embedder on real onnxruntime-node, over tiny models the test writes
 * (test/support/onnxModel.ts): widths, masked mean pooling, unit length,
 * determinism, similar texts closer; the whole stack chosen by MEMORY_EMBEDDER;
 * and each start-up failure as one typed line.
 */
import { mkdtempSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import * as path from "node:path"
import { describe, expect, it } from "@effect/vitest"
import { ConfigProvider, Context, Effect, Exit, Layer } from "effect"
import * as AgentMemory from "../layers/app.ts"
import * as OnnxEmbedder from "../layers/embedder/OnnxEmbedder.ts"
import { describeStartupFailure } from "../src/config/StartupFailure.ts"
import { StoreMemoryRequest } from "../src/domain/Memory.ts"
import { SearchRequest } from "../src/domain/Search.ts"
import { Memory } from "../src/memory/Memory.ts"
import { Embedder } from "../src/ports/Embedder.ts"
import { type TinyModel, writeModelDir } from "./support/onnxModel.ts"

const VOCABULARY = ["cat", "kitten", "dog", "puppy", "car", "truck", "engine", "wheel", "the", "a"]
const DIM = 8
const id = (word: string) => VOCABULARY.indexOf(word) + 2
// Animals lean on the first axes, vehicles on the last; each word a little apart. [PAD] is huge, so unmasked padding shows.
const TABLE: ReadonlyArray<ReadonlyArray<number>> = [
  Array(DIM).fill(100),
  Array(DIM).fill(0.01),
  ...VOCABULARY.map((word, i) => {
    const animal = ["cat", "kitten", "dog", "puppy"].includes(word)
    const vehicle = ["car", "truck", "engine", "wheel"].includes(word)
    return Array.from({ length: DIM }, (_, d) => (animal && d < 4 ? 1 : 0) + (vehicle && d >= 4 ? 1 : 0) + 0.1 * Math.sin(i * 7 + d) + (!animal && !vehicle ? 0.05 : 0))
  })
]

const root = mkdtempSync(path.join(tmpdir(), "onnx-embedder-"))
const dirFor = (name: string, model: TinyModel | null) => writeModelDir(path.join(root, name), VOCABULARY, model)

const expected = (words: ReadonlyArray<string>) => {
  const v = Array(DIM).fill(0) as Array<number>
  for (const w of words) TABLE[id(w)]!.forEach((x, d) => (v[d]! += x / words.length))
  const norm = Math.hypot(...v)
  return v.map((x) => x / norm)
}
const dot = (a: Float32Array, b: Float32Array) => a.reduce((sum, x, i) => sum + x * b[i]!, 0)

const build = (dir: string, runtime?: OnnxEmbedder.Runtime) =>
  Effect.map(Layer.build(OnnxEmbedder.layer({ modelDir: dir, batchSize: 4 }, runtime)), (c) => Context.get(c, Embedder))

const startFailure = (dir: string, runtime?: OnnxEmbedder.Runtime) =>
  Effect.gen(function*() {
    const exit = yield* Effect.exit(Effect.scoped(build(dir, runtime)))
    expect(Exit.isFailure(exit)).toBe(true)
    if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a typed failure, got ${String(exit)}`)
    const line = describeStartupFailure(exit.cause.error)
    expect(line).not.toContain("\n")
    return line
  })

describe("onnx embedder", () => {
  it.scoped("per-token output: masked mean pooling, unit length, deterministic, batched alike, similar texts closer", () =>
    Effect.gen(function*() {
      const embedder = yield* build(dirFor("tokens", { table: TABLE, output: "tokens", attentionMask: true }))
      expect(embedder.dimensions).toBe(DIM)
      expect(embedder.model).toMatch(/^onnx:tokens:[0-9a-f]{12}$/)
      const v = yield* embedder.embed("Cat kitten")
      expect(v).toBeInstanceOf(Float32Array)
      expect(v.length).toBe(DIM)
      Array.from(v).forEach((x, d) => expect(x).toBeCloseTo(expected(["cat", "kitten"])[d]!, 5))
      expect(Math.hypot(...v)).toBeCloseTo(1, 5)
      expect(Array.from(yield* embedder.embed("Cat kitten"))).toEqual(Array.from(v))
      // Five texts of different lengths in batches of 4: the short ones are padded, and padding does not count.
      const texts = ["cat", "the kitten and the puppy saw a truck", "truck", "dog", "car engine"]
      const many = yield* embedder.embedMany(texts)
      expect(many.length).toBe(5)
      for (const [i, t] of texts.entries()) {
        const alone = yield* embedder.embed(t)
        Array.from(many[i]!).forEach((x, d) => expect(x).toBeCloseTo(alone[d]!, 5))
      }
      Array.from(many[0]!).forEach((x, d) => expect(x).toBeCloseTo(expected(["cat"])[d]!, 5))
      const kitten = yield* embedder.embed("a kitten")
      expect(dot(kitten, yield* embedder.embed("the cat"))).toBeGreaterThan(dot(kitten, yield* embedder.embed("the truck")) + 0.3)
      // A word outside the vocabulary is the unknown token, not a crash.
      expect((yield* embedder.embed("zebra")).length).toBe(DIM)
    }))

  it.scoped("pooled output [batch, dim] is taken as it is (then normalised); the width is the model's", () =>
    Effect.gen(function*() {
      const wide = TABLE.map((row) => [...row, ...row])
      const embedder = yield* build(dirFor("pooled", { table: wide, output: [1] }))
      expect(embedder.dimensions).toBe(2 * DIM)
      const v = yield* embedder.embed("car truck")
      const half = expected(["car", "truck"]).map((x) => x / Math.SQRT2)
      Array.from(v).forEach((x, d) => expect(x).toBeCloseTo(half[d % DIM]!, 5))
    }))

  it.effect("MEMORY_EMBEDDER=onnx runs the whole stack: stored records are found by the model's vectors", () =>
    Effect.gen(function*() {
      const dir = dirFor("stack", { table: TABLE, output: "tokens", attentionMask: true })
      const env = new Map([["MEMORY_EMBEDDER", "onnx"], ["MEMORY_ONNX_MODEL_DIR", dir], ["MEMORY_STORE", "memory"]])
      yield* Effect.scoped(Effect.gen(function*() {
        const context = yield* Layer.build(AgentMemory.layerConfig())
        const memory = Context.get(context, Memory)
        expect(Context.get(context, Embedder).dimensions).toBe(DIM)
        for (const content of ["the truck", "a cat", "car engine"]) yield* memory.store(new StoreMemoryRequest({ content, namespace: "onnx" }))
        const found = yield* memory.search(new SearchRequest({ query: "kitten", namespace: "onnx", k: 3, mode: "vector" }))
        expect(found.hits[0]!.content).toBe("a cat")
      })).pipe(Effect.withConfigProvider(ConfigProvider.fromMap(env)))
    }))

  it.effect("start-up failures are one typed line: no directory, no model, no tokenizer, a broken model, a wrong shape, a missing package", () =>
    Effect.gen(function*() {
      expect(yield* startFailure(path.join(root, "absent"))).toMatch(/^configuration: MEMORY_ONNX_MODEL_DIR: ".*absent" is not a directory$/)
      expect(yield* startFailure(dirFor("no-model", null))).toContain("holds no model.onnx (nor onnx/model.onnx)")
      const noTokenizer = mkdtempSync(path.join(root, "no-tokenizer-"))
      writeFileSync(path.join(noTokenizer, "model.onnx"), new Uint8Array([1, 2, 3]))
      expect(yield* startFailure(noTokenizer)).toContain("holds no tokenizer.json")
      const broken = dirFor("broken", null)
      writeFileSync(path.join(broken, "model.onnx"), "not a model")
      expect(yield* startFailure(broken)).toMatch(/^EmbeddingFailed: onnx embedder: cannot load .*model\.onnx/)
      // ReduceMean over tokens and dim: [batch], not a vector per text.
      expect(yield* startFailure(dirFor("scalar", { table: TABLE, output: [1, 2] }))).toContain(
        `output "sentence_embedding" is [1] of float32; expected float32 [batch, tokens, dim] or [batch, dim]`
      )
      const missing: OnnxEmbedder.Runtime = {
        ...OnnxEmbedder.defaultRuntime,
        ort: () => Promise.reject(new Error("Cannot find package 'onnxruntime-node'"))
      }
      expect(yield* startFailure(dirFor("ok", { table: TABLE, output: "tokens" }), missing)).toBe(
        "configuration: MEMORY_EMBEDDER: onnx needs the optional package onnxruntime-node: npm install onnxruntime-node @huggingface/tokenizers"
      )
      const exit = yield* Effect.exit(Layer.build(AgentMemory.layerConfig()).pipe(
        Effect.scoped,
        Effect.withConfigProvider(ConfigProvider.fromMap(new Map([["MEMORY_EMBEDDER", "onnx"], ["MEMORY_STORE", "memory"]])))
      ))
      expect(Exit.isFailure(exit) && exit.cause._tag === "Fail" ? describeStartupFailure(exit.cause.error) : "").toBe(
        "configuration: MEMORY_ONNX_MODEL_DIR: required but not set"
      )
    }))
})
