/**
 * Query and path parameters shared by the route groups. Query schemas are
 * strict like bodies: an unknown parameter is a 400 naming it. A route with a
 * JSON body takes no query parameters at all (its namespace is in the body):
 * the edge refuses them (Edge.ts), as an empty Struct would accept anything.
 */
import { Schema } from "effect"
import { Namespace } from "../domain/Memory.ts"
import { strictStruct } from "../domain/Strict.ts"

export const NamespaceQuery = strictStruct({ namespace: Schema.optional(Namespace) })

/** A record id in a path: generated UUIDs, client ids and document chunk ids (`doc:3`). */
export const RecordId = Schema.String.pipe(
  Schema.pattern(/^[A-Za-z0-9][A-Za-z0-9_.:@-]{0,255}$/, {
    message: () => "id must be 1-256 characters of letters, digits and _ . : @ - (starting with a letter or digit)"
  })
)
export const IdPath = Schema.Struct({ id: RecordId })
