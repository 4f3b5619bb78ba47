/**
 * Where a record's content must be unique. A document's chunks deduplicate
 * within their document only: a passage two documents share stays in both, so
 * a hit on it cites the document it was found in. Every other record's scope is
 * its namespace and kind. The SQL stores index the same expression
 * (DEDUP_SCOPE in layers/store/sql/migrations.ts, migration 0005).
 */
export const dedupScope = (metadata: Readonly<Record<string, unknown>>): string => {
  const documentId = metadata["documentId"]
  if (documentId === undefined || documentId === null) return ""
  // As PostgreSQL's `metadata->>'documentId'`: a string as itself, anything else as its JSON text.
  return typeof documentId === "string" ? documentId : JSON.stringify(documentId)
}
