/**
 * Splits a document into chunks of at most `size` characters, breaking at the
 * largest boundary that fits: paragraphs, then lines, then sentences, then
 * words, and only then characters. Consecutive chunks share up to `overlap`
 * characters (whole pieces from the end of the previous chunk), so a fact cut
 * by a boundary is still whole in one of them.
 */
const SEPARATORS: ReadonlyArray<RegExp> = [/\n\s*\n/, /\n/, /(?<=[.!?。！？])\s+/, /\s+/]

/** Pieces no longer than `size`, in order, each keeping the separator that followed it. */
const pieces = (text: string, size: number, level = 0): Array<string> => {
  if (text.length <= size) return [text]
  const separator = SEPARATORS[level]
  if (!separator) {
    const out: Array<string> = []
    for (let i = 0; i < text.length; i += size) out.push(text.slice(i, i + size))
    return out
  }
  const parts: Array<string> = []
  let rest = text
  const global = new RegExp(separator.source, "g")
  let last = 0
  for (const match of text.matchAll(global)) {
    const end = match.index + match[0].length
    if (end > last) parts.push(text.slice(last, end))
    last = end
  }
  rest = text.slice(last)
  if (rest.length > 0) parts.push(rest)
  return parts.flatMap((part) => (part.length <= size ? [part] : pieces(part, size, level + 1)))
}

export interface Chunk {
  readonly text: string
  /** 0-based position of the chunk in the document. */
  readonly position: number
}

export const chunkText = (text: string, size: number, overlap: number): Array<Chunk> => {
  const chunks: Array<string> = []
  let current: Array<string> = []
  let length = 0
  for (const piece of pieces(text, size)) {
    if (length + piece.length > size && current.length > 0) {
      chunks.push(current.join(""))
      // Carry the tail of this chunk into the next, whole pieces only.
      const carried: Array<string> = []
      let carriedLength = 0
      for (let i = current.length - 1; i >= 0; i--) {
        const p = current[i]!
        if (carriedLength + p.length > overlap || carriedLength + p.length + piece.length > size) break
        carried.unshift(p)
        carriedLength += p.length
      }
      current = carried
      length = carriedLength
    }
    current.push(piece)
    length += piece.length
  }
  if (current.length > 0) chunks.push(current.join(""))
  return chunks
    .map((c) => c.trim())
    .filter((c) => c.length > 0)
    .map((text, position) => ({ text, position }))
}
