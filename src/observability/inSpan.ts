/**
 * Runs `body` in a new span that it can annotate directly (`span.attribute`),
 * with the span as the parent of everything the body starts. Cheaper on hot
 * paths than Effect.withSpan + annotateCurrentSpan, which looks the span up
 * again for every annotation; the stack is not captured at the call site.
 */
import type { Effect, Tracer } from "effect"
import * as HandSpan from "./handSpan.ts"

export const inSpan = <A, E, R>(
  name: string,
  attributes: Record<string, unknown>,
  body: (span: Pick<Tracer.Span, "attribute">) => Effect.Effect<A, E, R>
): Effect.Effect<A, E, R> => HandSpan.around(name, attributes, body)
