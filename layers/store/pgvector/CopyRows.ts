/**
 * A batch of new records in PostgreSQL's binary COPY format, for CopyInsert: one
 * tuple per record, fields in STAGING_COLUMNS order (the staging table), or in
 * TARGET_COLUMNS order, without the batch position, straight into `memories`.
 * Binary, so nothing is parsed on the server: a vector goes as vector_recv
 * reads it (the same bytes as the INSERT path's parameter), a time as
 * microseconds since 2000-01-01, a text[] as array_recv reads it.
 */
import type { NewRecord } from "../../../src/ports/MemoryStore.ts"
import { vectorBinaryLength, writeVectorBinary } from "../sql/pgText.ts"

/** The columns of `memories` a new record fills, in the order a tuple carries them. */
export const TARGET_COLUMNS =
  "namespace, id, kind, content, content_hash, tags, metadata, session_id, embedding, embedding_model, created_at, updated_at, expires_at, occurred_at"
/** The staging table's: the record's position in its batch first. */
export const STAGING_COLUMNS = `ord, ${TARGET_COLUMNS}`

const TARGET_FIELDS = TARGET_COLUMNS.split(",").length
const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1")
/** Signature, flags (int32) and header extension length (int32). */
const HEADER_BYTES = SIGNATURE.length + 8
const TRAILER = -1
const TEXT_OID = 25
/** 2000-01-01T00:00:00Z, PostgreSQL's epoch, in Unix milliseconds. */
const PG_EPOCH_MS = 946_684_800_000
const TWO_TO_32 = 2 ** 32

/**
 * Writes one COPY stream into a buffer sized up front: lengths are measured in a
 * first pass, so a batch is one allocation instead of a few dozen small buffers
 * a row and a concat (the client's CPU is what bounds a batch ingest).
 */
class Writer {
  offset = 0
  constructor(readonly buffer: Buffer) {}
  int16(n: number) {
    this.offset = this.buffer.writeInt16BE(n, this.offset)
  }
  int32(n: number) {
    this.offset = this.buffer.writeInt32BE(n, this.offset)
  }
  /** A field's bytes after its length; `bytes` is the string's UTF-8 length, measured before. */
  text(value: string, bytes: number) {
    this.int32(bytes)
    this.offset += this.buffer.write(value, this.offset, bytes, "utf8")
  }
  /** A timestamptz: microseconds since PostgreSQL's epoch as an int64 (exact: they stay below 2^53). */
  time(date: Date | null) {
    if (date === null) return this.int32(-1)
    const micros = (date.getTime() - PG_EPOCH_MS) * 1000
    const high = Math.floor(micros / TWO_TO_32)
    this.int32(8)
    this.int32(high)
    this.offset = this.buffer.writeUInt32BE(micros - high * TWO_TO_32, this.offset)
  }
}

const utf8 = (value: string) => Buffer.byteLength(value, "utf8")

/** What a row needs besides its fixed-size fields, measured once for sizing and for writing. */
interface Measured {
  readonly item: NewRecord
  readonly metadata: string
  readonly lengths: ReadonlyArray<number>
  readonly bytes: number
}

/** The row's strings in the order they are written: namespace, id, kind, content, content_hash, tags…, metadata, session_id, embedding_model. */
const measure = (item: NewRecord): Measured => {
  const r = item.record
  const metadata = JSON.stringify(r.metadata)
  const lengths = [utf8(r.namespace), utf8(r.id), utf8(r.kind), utf8(r.content), utf8(r.contentHash)]
  for (const tag of r.tags) lengths.push(utf8(tag))
  lengths.push(utf8(metadata), r.sessionId === null ? 0 : utf8(r.sessionId), utf8(r.embeddingModel))
  let bytes = 2 // field count
  for (const n of lengths) bytes += 4 + n // a tag's length word counts as an array element's
  bytes += 4 + (r.tags.length === 0 ? 12 : 20) // the tags field's length, the array header
  bytes += 1 // jsonb's version byte
  bytes += 4 + vectorBinaryLength(item.embedding)
  for (const time of [r.createdAt, r.updatedAt, r.expiresAt, r.occurredAt]) bytes += time === null ? 4 : 12
  return { item, metadata, lengths, bytes }
}

/** The batch position as a tuple's first field (int4): 8 bytes with its length word. */
const ORD_BYTES = 8

const writeRow = (w: Writer, { item: { embedding, record: r }, lengths, metadata }: Measured, ord: number | undefined) => {
  let l = 0
  if (ord === undefined) w.int16(TARGET_FIELDS)
  else {
    w.int16(TARGET_FIELDS + 1)
    w.int32(4)
    w.int32(ord)
  }
  w.text(r.namespace, lengths[l++]!)
  w.text(r.id, lengths[l++]!)
  w.text(r.kind, lengths[l++]!)
  w.text(r.content, lengths[l++]!)
  w.text(r.contentHash, lengths[l++]!)
  // text[] as array_recv reads it: dimensions, has-nulls, element type, then (if any) size and lower bound, then the elements.
  let arrayBytes = r.tags.length === 0 ? 12 : 20
  for (let t = 0; t < r.tags.length; t++) arrayBytes += 4 + lengths[l + t]!
  w.int32(arrayBytes)
  w.int32(r.tags.length === 0 ? 0 : 1)
  w.int32(0)
  w.int32(TEXT_OID)
  if (r.tags.length > 0) {
    w.int32(r.tags.length)
    w.int32(1)
  }
  for (const tag of r.tags) w.text(tag, lengths[l++]!)
  // jsonb's binary form: a version byte (1), then the JSON text.
  const metadataBytes = lengths[l++]!
  w.int32(1 + metadataBytes)
  w.offset = w.buffer.writeUInt8(1, w.offset)
  w.offset += w.buffer.write(metadata, w.offset, metadataBytes, "utf8")
  const sessionBytes = lengths[l++]!
  if (r.sessionId === null) w.int32(-1)
  else w.text(r.sessionId, sessionBytes)
  w.int32(vectorBinaryLength(embedding))
  w.offset = writeVectorBinary(w.buffer, w.offset, embedding)
  w.text(r.embeddingModel, lengths[l++]!)
  w.time(r.createdAt)
  w.time(r.updatedAt)
  w.time(r.expiresAt)
  w.time(r.occurredAt)
}

/**
 * The whole COPY stream for these records: header, one tuple each, trailer. `into`
 * says whose columns: the staging table's (each tuple led by its position in the
 * batch) or the target's.
 */
export const encode = (items: ReadonlyArray<NewRecord>, into: "staging" | "target"): Buffer => {
  const rows = items.map(measure)
  const ordBytes = into === "staging" ? ORD_BYTES * rows.length : 0
  const w = new Writer(Buffer.allocUnsafe(HEADER_BYTES + rows.reduce((sum, row) => sum + row.bytes, 0) + ordBytes + 2))
  w.offset = SIGNATURE.copy(w.buffer, 0)
  w.int32(0) // flags
  w.int32(0) // header extension length
  rows.forEach((row, ord) => writeRow(w, row, into === "staging" ? ord : undefined))
  w.int16(TRAILER)
  if (w.offset !== w.buffer.length) throw new Error(`COPY encoding wrote ${w.offset} of ${w.buffer.length} bytes`)
  return w.buffer
}
