/**
 * The ingest ceiling: the same rows written straight into agent-memory's
 * `memories` table by `pg` with a binary COPY (pg-copy-streams), no service in
 * between. Rows are split into contiguous ranges, one COPY (one connection,
 * one transaction) per stream.
 */
import { Readable } from "node:stream"
import { pipeline } from "node:stream/promises"
import Pg from "pg"
import type { Dataset } from "./dataset.ts"
import { copyFrom } from "./langchain/peers.ts"
import { MODEL } from "./PrecomputedEmbedder.ts"

const SIGNATURE = Buffer.from("PGCOPY\n\xff\r\n\0", "latin1")
const COLUMNS = "namespace, id, kind, content, content_hash, metadata, embedding, embedding_model"
const ROWS_PER_CHUNK = 500

const text = (value: string) => {
  const bytes = Buffer.from(value, "utf8")
  const out = Buffer.allocUnsafe(4 + bytes.length)
  out.writeInt32BE(bytes.length, 0)
  bytes.copy(out, 4)
  return out
}

/** jsonb's binary form: a version byte (1), then the JSON text. */
const jsonb = (value: unknown) => {
  const bytes = Buffer.from(JSON.stringify(value), "utf8")
  const out = Buffer.allocUnsafe(5 + bytes.length)
  out.writeInt32BE(bytes.length + 1, 0)
  out.writeUInt8(1, 4)
  bytes.copy(out, 5)
  return out
}

/** pgvector's binary form (as vector_recv reads it): int16 width, int16 unused, float4s; all big-endian. */
const vector = (v: Float32Array) => {
  const out = Buffer.allocUnsafe(8 + v.length * 4)
  out.writeInt32BE(4 + v.length * 4, 0)
  out.writeInt16BE(v.length, 4)
  out.writeInt16BE(0, 6)
  for (let i = 0; i < v.length; i++) out.writeFloatBE(v[i]!, 8 + i * 4)
  return out
}

const fieldCount = Buffer.from([0, 8])

function* tuples(data: Dataset, hashes: ReadonlyArray<string>, namespace: string, from: number, to: number) {
  yield Buffer.concat([SIGNATURE, Buffer.alloc(8)]) // flags, header extension length
  const model = text(MODEL)
  const ns = text(namespace)
  const kind = text("memory")
  for (let start = from; start < to; start += ROWS_PER_CHUNK) {
    const parts: Array<Buffer> = []
    for (let row = start; row < Math.min(to, start + ROWS_PER_CHUNK); row++) {
      parts.push(fieldCount, ns, text(data.id(row)), kind, text(data.texts[row]!), text(hashes[row]!), jsonb(data.metadata(row)), vector(data.vector(row)), model)
    }
    yield Buffer.concat(parts)
  }
  yield Buffer.from([0xff, 0xff]) // trailer
}

export interface CopyOptions {
  readonly url: string
  readonly schema: string
  readonly namespace: string
  readonly data: Dataset
  /** content_hash per row (SHA-256 as the service computes it), worked out before the clock starts. */
  readonly hashes: ReadonlyArray<string>
  readonly streams: number
  readonly rows: number
}

/** Copies rows [0, rows) in `streams` parallel COPYs; answers the rows written. */
export const copyIngest = async (options: CopyOptions): Promise<number> => {
  const from = await copyFrom()
  const share = Math.ceil(options.rows / options.streams)
  const ranges = Array.from({ length: options.streams }, (_, s) => [s * share, Math.min(options.rows, (s + 1) * share)] as const)
    .filter(([a, b]) => a < b)
  const counts = await Promise.all(ranges.map(async ([a, b]) => {
    const client = new Pg.Client({ connectionString: options.url, options: `-c search_path=${options.schema},public`, application_name: "agent-memory-bench" })
    await client.connect()
    try {
      const stream = from(`COPY memories (${COLUMNS}) FROM STDIN (FORMAT binary)`)
      client.query(stream as unknown as Pg.Submittable)
      await pipeline(Readable.from(tuples(options.data, options.hashes, options.namespace, a, b)), stream)
      return b - a
    } finally {
      await client.end()
    }
  }))
  return counts.reduce((s, n) => s + n, 0)
}
