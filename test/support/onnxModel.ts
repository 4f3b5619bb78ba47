/**
 * A tiny embedding model the tests make themselves, so the ONNX embedder's
 * loading code runs on a real ONNX graph in onnxruntime-node without a
 * download: an embedding table (an initializer) gathered by input_ids, as
 * per-token output [batch, tokens, dim], or mean-reduced over an axis list.
 * The ModelProto is hand-encoded (the few protobuf fields ONNX needs), and a
 * WordLevel tokenizer.json goes beside it.
 */
import { mkdirSync, writeFileSync } from "node:fs"
import * as path from "node:path"

// Protobuf wire format: varints, and length-delimited fields.
const varint = (n: number | bigint): Array<number> => {
  let v = BigInt(n)
  const out: Array<number> = []
  do {
    let byte = Number(v & 0x7fn)
    v >>= 7n
    if (v > 0n) byte |= 0x80
    out.push(byte)
  } while (v > 0n)
  return out
}
const key = (field: number, wire: number) => varint((field << 3) | wire)
const int = (field: number, n: number) => [...key(field, 0), ...varint(n)]
const bytes = (field: number, data: ArrayLike<number>) => [...key(field, 2), ...varint(data.length), ...Array.from(data)]
const str = (field: number, s: string) => bytes(field, new TextEncoder().encode(s))
const msg = (field: number, ...parts: Array<Array<number>>) => bytes(field, parts.flat())

const FLOAT = 1
const INT64 = 7

/** ValueInfoProto: name, and a tensor type with named or fixed dimensions. */
const valueInfo = (field: number, name: string, elemType: number, dims: ReadonlyArray<string | number>) =>
  msg(field, str(1, name), msg(2, msg(1, int(1, elemType), msg(2, ...dims.map((d) => msg(1, typeof d === "number" ? int(1, d) : str(2, d)))))))

export interface TinyModel {
  /** Row i is token i's vector. */
  readonly table: ReadonlyArray<ReadonlyArray<number>>
  /** "tokens": Gather only, [batch, tokens, dim]; otherwise ReduceMean over these axes (keepdims 0) after it. */
  readonly output: "tokens" | ReadonlyArray<number>
  readonly outputName?: string
  /** Also declare an attention_mask input (as BERT exports do); the graph ignores it. */
  readonly attentionMask?: boolean
}

export const encodeModel = (model: TinyModel): Uint8Array => {
  const dim = model.table[0]!.length
  const raw = new Float32Array(model.table.flat())
  const outputName = model.outputName ?? (model.output === "tokens" ? "last_hidden_state" : "sentence_embedding")
  const gathered = model.output === "tokens" ? outputName : "gathered"
  const nodes = [
    msg(1, str(1, "table"), str(1, "input_ids"), str(2, gathered), str(3, "gather"), str(4, "Gather"), msg(5, str(1, "axis"), int(3, 0), int(20, 2)))
  ]
  if (model.output !== "tokens") {
    nodes.push(msg(1, str(1, "gathered"), str(2, outputName), str(3, "mean"), str(4, "ReduceMean"),
      msg(5, str(1, "axes"), ...model.output.map((a) => int(8, a)), int(20, 7)),
      msg(5, str(1, "keepdims"), int(3, 0), int(20, 2))))
  }
  const axes: ReadonlyArray<number> = model.output === "tokens" ? [] : model.output
  const outputDims = ["batch", "tokens", dim].filter((_, i) => !axes.includes(i))
  const graph = msg(7,
    ...nodes,
    str(2, "tiny"),
    msg(5, int(1, model.table.length), int(1, dim), int(2, FLOAT), str(8, "table"), bytes(9, new Uint8Array(raw.buffer))),
    valueInfo(11, "input_ids", INT64, ["batch", "tokens"]),
    ...(model.attentionMask ? [valueInfo(11, "attention_mask", INT64, ["batch", "tokens"])] : []),
    valueInfo(12, outputName, FLOAT, outputDims))
  return new Uint8Array([...int(1, 8), ...str(2, "agent-memory-test"), ...graph, ...msg(8, str(1, ""), int(2, 13))])
}

/** A WordLevel tokenizer: lower-cased, split on whitespace and punctuation, unknown words → [UNK]. */
export const wordLevelTokenizer = (vocabulary: ReadonlyArray<string>) => {
  const special = (id: number, content: string) => ({ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true })
  return {
    version: "1.0",
    truncation: null,
    padding: null,
    added_tokens: [special(0, "[PAD]"), special(1, "[UNK]")],
    normalizer: { type: "Lowercase" },
    pre_tokenizer: { type: "Whitespace" },
    post_processor: null,
    decoder: null,
    model: { type: "WordLevel", vocab: Object.fromEntries(["[PAD]", "[UNK]", ...vocabulary].map((w, i) => [w, i])), unk_token: "[UNK]" }
  }
}

/** Writes model.onnx (unless `model` is null) and tokenizer.json into `dir`. */
export const writeModelDir = (dir: string, vocabulary: ReadonlyArray<string>, model: TinyModel | null) => {
  mkdirSync(dir, { recursive: true })
  if (model !== null) writeFileSync(path.join(dir, "model.onnx"), encodeModel(model))
  writeFileSync(path.join(dir, "tokenizer.json"), JSON.stringify(wordLevelTokenizer(vocabulary)))
  return dir
}
