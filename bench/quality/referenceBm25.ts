/**
 * A textbook BM25 (Robertson et al.; Lucene's idf) over PostgreSQL's own
 * lexemes, written here apart from the product: the bar the product's keyword
 * mode is held to. Documents and queries arrive as term → frequency maps (from
 * `to_tsvector(config, …)`); a document's length is its token count, or its
 * number of distinct terms when `length: "distinct"`.
 */

export interface ReferenceOptions {
  readonly k1: number
  readonly b: number
  readonly length: "tokens" | "distinct"
}

export const referenceBm25 = (docs: ReadonlyArray<{ readonly id: string; readonly terms: ReadonlyMap<string, number> }>, options: ReferenceOptions) => {
  const lengthOf = (terms: ReadonlyMap<string, number>) =>
    options.length === "distinct" ? terms.size : [...terms.values()].reduce((a, b) => a + b, 0)
  const lengths = docs.map((d) => lengthOf(d.terms))
  const average = lengths.reduce((a, b) => a + b, 0) / Math.max(1, docs.length)
  const postings = new Map<string, Array<number>>()
  docs.forEach((d, i) => {
    for (const term of d.terms.keys()) {
      const list = postings.get(term)
      if (list) list.push(i)
      else postings.set(term, [i])
    }
  })
  return (query: ReadonlyArray<string>, k: number): Array<string> => {
    const scores = new Map<number, number>()
    for (const term of new Set(query)) {
      const list = postings.get(term)
      if (!list) continue
      const idf = Math.log(1 + (docs.length - list.length + 0.5) / (list.length + 0.5))
      for (const i of list) {
        const tf = docs[i]!.terms.get(term)!
        const norm = tf + options.k1 * (1 - options.b + options.b * lengths[i]! / average)
        scores.set(i, (scores.get(i) ?? 0) + idf * tf * (options.k1 + 1) / norm)
      }
    }
    // Ties by id, in code-unit order: nothing about a record's place in the set.
    return [...scores].sort((a, b) => b[1] - a[1] || (docs[a[0]]!.id < docs[b[0]]!.id ? -1 : 1)).slice(0, k).map(([i]) => docs[i]!.id)
  }
}
