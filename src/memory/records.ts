/** Building a record from what a caller gave: id, hash, times and the embedder's name filled in. */
import { randomUUID } from "node:crypto"
import { MemoryRecord, type MemoryKind } from "../domain/Memory.ts"
import { trusted } from "../domain/trusted.ts"
import { contentHash } from "./contentHash.ts"

export interface RecordInput {
  readonly content: string
  readonly id?: string | undefined
  readonly kind?: MemoryKind | undefined
  readonly tags?: ReadonlyArray<string> | undefined
  readonly metadata?: Record<string, unknown> | undefined
  readonly sessionId?: string | undefined
  readonly ttlSeconds?: number | undefined
  readonly occurredAt?: Date | undefined
}

let last = 0

/** Now, but strictly later than any earlier call: messages added in one millisecond keep their order. */
export const monotonicNow = (): Date => {
  last = Math.max(Date.now(), last + 1)
  return new Date(last)
}

/**
 * The fields are complete and typed (the request passed its Schema), so the record is made without
 * the constructor's copy (src/domain/trusted.ts). Where it goes (namespace, and the kind when the
 * input has none) is given beside the input, so a request is read as it is, not copied to change them.
 */
export const buildRecord = (
  input: RecordInput,
  where: { readonly namespace: string; readonly kind?: MemoryKind | undefined },
  embedder: { readonly model: string; readonly dimensions: number },
  now = monotonicNow()
) =>
  trusted(MemoryRecord, {
    id: input.id ?? randomUUID(),
    namespace: where.namespace,
    kind: input.kind ?? where.kind ?? "memory",
    content: input.content,
    contentHash: contentHash(input.content),
    tags: input.tags ?? [],
    metadata: input.metadata ?? {},
    sessionId: input.sessionId ?? null,
    createdAt: now,
    updatedAt: now,
    expiresAt: input.ttlSeconds === undefined ? null : new Date(now.getTime() + input.ttlSeconds * 1000),
    embeddingModel: embedder.model,
    embeddingDimensions: embedder.dimensions,
    occurredAt: input.occurredAt ?? null
  })
