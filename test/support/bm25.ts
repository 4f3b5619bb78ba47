/** BM25 computed from scratch over a namespace's texts: what every store's keyword scores must equal. */
import * as Bm25 from "../../layers/store/Bm25.ts"
import { englishTerms } from "../../layers/store/memory/EnglishTerms.ts"

export const bm25Scores = (texts: ReadonlyArray<string>, query: string) => {
  const docs = texts.map((content) => ({ content, terms: englishTerms(content) }))
  const averageLength = docs.reduce((sum, d) => sum + d.terms.size, 0) / Math.max(1, docs.length)
  const weighted = [...englishTerms(query).keys()]
    .map((term) => ({ term, df: docs.filter((d) => d.terms.has(term)).length }))
    .filter((t) => t.df > 0)
    .map((t) => ({ ...t, idf: Bm25.idf(docs.length, t.df) }))
  const scale = Bm25.normaliser(weighted)
  return docs
    .map((d) => ({
      content: d.content,
      score: weighted.reduce((sum, t) => {
        const tf = d.terms.get(t.term)
        return tf === undefined ? sum : sum + Bm25.termScore(t.idf, tf, d.terms.size, averageLength)
      }, 0) / scale
    }))
    .filter((d) => d.score > 0)
    .sort((a, b) => b.score - a.score)
}
