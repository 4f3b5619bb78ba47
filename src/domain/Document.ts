/** Documents: long text stored as knowledge chunks that cite their source. */
import { Schema } from "effect"
import { MemoryId, Metadata, Namespace, Tags } from "./Memory.ts"
import { storableText } from "./Storable.ts"
import { strict } from "./Strict.ts"

export const MAX_DOCUMENT_LENGTH = 5_000_000
export const DEFAULT_CHUNK_SIZE = 1000
export const DEFAULT_CHUNK_OVERLAP = 150

const DocumentFields = Schema.Struct({
  content: Schema.String.pipe(
    Schema.filter((s) => s.trim().length > 0, { message: () => "content must not be empty" }),
    Schema.maxLength(MAX_DOCUMENT_LENGTH, { message: () => `a document is at most ${MAX_DOCUMENT_LENGTH} characters` }),
    storableText
  ),
  /** Re-ingesting the same id replaces the document's chunks. */
  id: Schema.optional(MemoryId),
  title: Schema.optional(Schema.String.pipe(Schema.maxLength(1000), storableText)),
  source: Schema.optional(Schema.String.pipe(Schema.maxLength(2000), storableText)),
  type: Schema.optional(Schema.String.pipe(Schema.maxLength(100), storableText)),
  metadata: Schema.optional(Metadata),
  tags: Schema.optional(Tags),
  /** Characters per chunk. */
  chunkSize: Schema.optional(
    Schema.Int.pipe(Schema.between(100, 20_000, { message: () => "chunkSize must be a whole number of characters from 100 to 20000" }))
  ),
  chunkOverlap: Schema.optional(
    Schema.Int.pipe(Schema.between(0, 10_000, { message: () => "chunkOverlap must be a whole number of characters from 0 to 10000" }))
  ),
  namespace: Schema.optional(Namespace)
})

export class DocumentRequest extends Schema.Class<DocumentRequest>("DocumentRequest")(
  strict(DocumentFields).pipe(
    Schema.filter((d) =>
      (d.chunkOverlap ?? DEFAULT_CHUNK_OVERLAP) < (d.chunkSize ?? DEFAULT_CHUNK_SIZE) / 2 ||
      "chunkOverlap must be less than half of chunkSize"
    )
  )
) {}

export class DocumentResult extends Schema.Class<DocumentResult>("DocumentResult")({
  documentId: Schema.String,
  chunks: Schema.Int,
  /** Chunks whose text this document already held (stored once); another document's copy of a passage does not count. */
  duplicates: Schema.Int
}) {}
