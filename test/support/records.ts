/** Building records and vectors for store tests. */
import { randomUUID } from "node:crypto"
import { MemoryRecord, type MemoryKind } from "../../src/domain/Memory.ts"
import { contentHash } from "../../src/memory/contentHash.ts"
import type { NewRecord } from "../../src/ports/MemoryStore.ts"

export const DIMENSIONS = 8

/** A unit vector pointing mostly along `axis`, tilted towards `axis + 1` by `tilt`. */
export const unit = (axis: number, tilt = 0, dimensions = DIMENSIONS): Float32Array => {
  const v = new Float32Array(dimensions)
  v[axis % dimensions] = 1
  v[(axis + 1) % dimensions] = tilt
  const n = Math.hypot(1, tilt)
  return v.map((x) => x / n)
}

export const newNamespace = () => `ns-${randomUUID().slice(0, 8)}`

export const newRecord = (
  fields: {
    readonly content: string
    readonly namespace: string
    readonly id?: string
    readonly kind?: MemoryKind
    readonly tags?: ReadonlyArray<string>
    readonly metadata?: Record<string, unknown>
    readonly sessionId?: string | null
    readonly expiresAt?: Date | null
    readonly occurredAt?: Date | null
  },
  embedding: Float32Array
): NewRecord => {
  const now = new Date(Math.floor(Date.now() / 1000) * 1000)
  return {
    embedding,
    record: new MemoryRecord({
      id: fields.id ?? randomUUID(),
      namespace: fields.namespace,
      kind: fields.kind ?? "memory",
      content: fields.content,
      contentHash: contentHash(fields.content),
      tags: fields.tags ?? [],
      metadata: fields.metadata ?? {},
      sessionId: fields.sessionId ?? null,
      createdAt: now,
      updatedAt: now,
      expiresAt: fields.expiresAt ?? null,
      embeddingModel: "test",
      embeddingDimensions: embedding.length,
      occurredAt: fields.occurredAt ?? null
    })
  }
}
