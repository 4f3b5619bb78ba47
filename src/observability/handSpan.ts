/**
 * A span started and ended by hand from inside a fiber: what Effect.useSpan does
 * (the fiber's tracer, its current span as parent, the annotations and links set
 * around it, its clock), without the Effect operations around it. For the search's
 * hottest steps, where each Effect step costs microseconds: the span is the same
 * one the tracer exports (to Jaeger through OpenTelemetry), only cheaper to make.
 * A span that must parent Effect work still goes through Effect.withParentSpan.
 */
import { Clock, Context, type Exit, type Fiber, FiberRef, HashMap, Option, type Tracer } from "effect"

type AnyFiber = Fiber.RuntimeFiber<unknown, unknown>

const NO_TIME = BigInt(0)

const now = (fiber: AnyFiber): bigint =>
  fiber.getFiberRef(FiberRef.currentTracerTimingEnabled)
    ? Context.get(fiber.currentDefaultServices, Clock.Clock).unsafeCurrentTimeNanos()
    : NO_TIME

/**
 * A new span, the child of `parent` (the fiber's current span unless given), or undefined
 * when tracing is off for this fiber (Effect.withTracerEnabled(false)).
 */
export const start = (
  fiber: AnyFiber,
  name: string,
  attributes: Readonly<Record<string, unknown>>,
  options: { readonly parent?: Tracer.AnySpan | undefined; readonly kind?: Tracer.SpanKind | undefined } = {}
): Tracer.Span | undefined => {
  if (!fiber.getFiberRef(FiberRef.currentTracerEnabled)) return undefined
  const parent = options.parent ?? fiber.currentSpan
  const links = fiber.getFiberRef(FiberRef.currentTracerSpanLinks)
  const span = fiber.currentTracer.span(
    name,
    Option.fromNullable(parent),
    Context.empty(),
    [...links],
    now(fiber),
    options.kind ?? "internal",
    { captureStackTrace: false }
  )
  const annotations = fiber.getFiberRef(FiberRef.currentTracerSpanAnnotations)
  if (HashMap.size(annotations) > 0) HashMap.forEach(annotations, (value, key) => span.attribute(key, value))
  for (const key in attributes) span.attribute(key, attributes[key])
  return span
}

/** Ends a span from `start` (nothing for undefined) with how its work ended. */
export const end = (fiber: AnyFiber, span: Tracer.Span | undefined, exit: Exit.Exit<unknown, unknown>): void => {
  if (span !== undefined && span.status._tag !== "Ended") span.end(now(fiber), exit)
}
