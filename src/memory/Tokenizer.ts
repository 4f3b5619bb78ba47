/**
 * Token counting with OpenAI's BPE encodings (js-tiktoken, ranks bundled: no
 * download). `o200k_base` is GPT-4o's and later; `cl100k_base` GPT-4 / 3.5's.
 * The encoder is built once, on first use.
 */
import type { Tiktoken } from "js-tiktoken/lite"

export type Encoding = "o200k_base" | "cl100k_base"

const encoders = new Map<Encoding, Promise<Tiktoken>>()

export const tokenizer = (encoding: Encoding): Promise<Tiktoken> => {
  let encoder = encoders.get(encoding)
  if (!encoder) {
    // Imported on first use, so loading the package root loads no tokenizer.
    encoder = Promise.all([
      import("js-tiktoken/lite"),
      encoding === "o200k_base" ? import("js-tiktoken/ranks/o200k_base") : import("js-tiktoken/ranks/cl100k_base")
    ]).then(([{ Tiktoken }, ranks]) => new Tiktoken(ranks.default))
    encoders.set(encoding, encoder)
  }
  return encoder
}
