/**
 * A batch of new records in PostgreSQL's binary COPY format, for the staging
 * table of CopyInsert: one tuple per record, fields in STAGING_COLUMNS order.
 * Binary, so nothing is parsed on the server: a vector goes as vector_recv
 * reads it (the same bytes as the INSERT path's parameter), a time as
 * microseconds since 2000-01-01, a text[] as array_recv reads it.
 */
import type { NewRecord } from "../../../src/ports/MemoryStore.ts"
import { vectorBinary } from "../sql/pgText.ts"

export const STAGING_COLUMNS =
  "ord, namespace, id, kind, content, content_hash, tags, metadata, session_id, embedding, embedding_model, created_at, updated_at, expires_at, occurred_at"

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1")
const TEXT_OID = 25
/** 2000-01-01T00:00:00Z, PostgreSQL's epoch, in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000
const NULL = (() => {
  const b = Buffer.allocUnsafe(4)
  b.writeInt32BE(-1, 0)
  return b
})()

const int32 = (n: number) => {
  const b = Buffer.allocUnsafe(4)
  b.writeInt32BE(n, 0)
  return b
}

/** A field: its length, then its bytes. */
const field = (bytes: Buffer) => [int32(bytes.length), bytes]

const text = (value: string) => field(Buffer.from(value, "utf8"))

const textArray = (values: ReadonlyArray<string>) => {
  const elements = values.flatMap(text)
  const header = Buffer.allocUnsafe(values.length === 0 ? 12 : 20)
  header.writeInt32BE(values.length === 0 ? 0 : 1, 0) // dimensions
  header.writeInt32BE(0, 4) // no nulls
  header.writeInt32BE(TEXT_OID, 8)
  if (values.length > 0) {
    header.writeInt32BE(values.length, 12)
    header.writeInt32BE(1, 16) // lower bound
  }
  return field(Buffer.concat([header, ...elements]))
}

/** jsonb's binary form: a version byte (1), then the JSON text. */
const jsonb = (value: unknown) => field(Buffer.concat([Buffer.from([1]), Buffer.from(JSON.stringify(value), "utf8")]))

const timestamptz = (date: Date | null) => {
  if (date === null) return [NULL]
  const b = Buffer.allocUnsafe(8)
  b.writeBigInt64BE(BigInt(date.getTime() - PG_EPOCH_MS) * 1000n, 0)
  return field(b)
}

const FIELD_COUNT = (() => {
  const b = Buffer.allocUnsafe(2)
  b.writeInt16BE(STAGING_COLUMNS.split(",").length, 0)
  return b
})()

/** The whole COPY stream for these records: header, one tuple each (ord = position in the batch), trailer. */
export const encode = (items: ReadonlyArray<NewRecord>): Buffer => {
  const parts: Array<Buffer> = [SIGNATURE, Buffer.alloc(8)] // flags, header extension length
  items.forEach(({ embedding, record: r }, ord) => {
    parts.push(
      FIELD_COUNT,
      int32(4),
      int32(ord),
      ...text(r.namespace),
      ...text(r.id),
      ...text(r.kind),
      ...text(r.content),
      ...text(r.contentHash),
      ...textArray(r.tags),
      ...jsonb(r.metadata),
      ...(r.sessionId === null ? [NULL] : text(r.sessionId)),
      ...field(vectorBinary(embedding)),
      ...text(r.embeddingModel),
      ...timestamptz(r.createdAt),
      ...timestamptz(r.updatedAt),
      ...timestamptz(r.expiresAt),
      ...timestamptz(r.occurredAt)
    )
  })
  parts.push(Buffer.from([0xff, 0xff])) // trailer
  return Buffer.concat(parts)
}
