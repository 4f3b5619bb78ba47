/**
 * The precomputed embedder as a plugin, so the real server process
 * (src/main.ts) can answer the benchmark's queries in their own vector space:
 *
 *   MEMORY_PLUGINS=./bench/BenchEmbedderPlugin.ts MEMORY_EMBEDDER=bench-precomputed BENCH_VECTORS=<file.json>
 *
 * The file holds `{ dims, texts: [...], vectors: "<base64 of float32 little-endian, texts × dims>" }`,
 * or `vectorsPath` (a file of those bytes raw) instead of `vectors`: every row of
 * a large run, which as base64 would not fit in one string.
 */
import { readFileSync, writeFileSync } from "node:fs"
import type { EmbedderPlugin } from "../src/plugins/Plugin.ts"
import * as PrecomputedEmbedder from "./PrecomputedEmbedder.ts"

export interface VectorsFile {
  readonly dims: number
  readonly texts: ReadonlyArray<string>
  readonly vectors?: string | undefined
  readonly vectorsPath?: string | undefined
}

export const encode = (dims: number, texts: ReadonlyArray<string>, vector: (i: number) => Float32Array): VectorsFile => {
  const all = new Float32Array(texts.length * dims)
  texts.forEach((_, i) => all.set(vector(i), i * dims))
  return { dims, texts, vectors: Buffer.from(all.buffer).toString("base64") }
}

/** Writes `file` (JSON) and `file.f32` (the vectors, texts × dims, raw): the form for many rows. */
export const writeRaw = (file: string, dims: number, texts: ReadonlyArray<string>, all: Float32Array) => {
  const vectorsPath = `${file}.f32`
  writeFileSync(vectorsPath, new Uint8Array(all.buffer, all.byteOffset, all.byteLength))
  writeFileSync(file, JSON.stringify({ dims, texts, vectorsPath } satisfies VectorsFile))
}

const load = (path: string) => {
  const file = JSON.parse(readFileSync(path, "utf8")) as VectorsFile
  const bytes = file.vectorsPath !== undefined ? readFileSync(file.vectorsPath) : Buffer.from(file.vectors ?? "", "base64")
  // A view when the bytes sit 4-aligned (a large file's own buffer), else a copy: no second copy of a big file.
  const all = bytes.byteOffset % 4 === 0
    ? new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4)
    : new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength))
  const map = new Map<string, Float32Array>()
  file.texts.forEach((text, i) => map.set(text, all.subarray(i * file.dims, (i + 1) * file.dims)))
  return { dims: file.dims, map }
}

const plugin: EmbedderPlugin = {
  port: "embedder",
  name: "bench-precomputed",
  description: "the benchmark's precomputed vectors, by text (BENCH_VECTORS)",
  layer: () => {
    const { dims, map } = load(process.env["BENCH_VECTORS"] ?? "")
    return PrecomputedEmbedder.layer(map, dims)
  }
}

export default plugin
