/**
 * A span started and ended by hand from inside a fiber: what Effect.useSpan does
 * (the fiber's tracer, its current span as parent, the annotations and links set
 * around it, its clock), without the Effect operations around it. For the search's
 * hottest steps, where each Effect step costs microseconds: the span is the same
 * one the tracer exports (to Jaeger through OpenTelemetry), only cheaper to make.
 * A span that must parent Effect work still goes through Effect.withParentSpan.
 */
import { Clock, Context, Effect, Exit, type Fiber, FiberRef, HashMap, Option, Tracer } from "effect"

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

/**
 * Ends a span from `start` (nothing for undefined) with how its work ended. A success ends it
 * with `Exit.void`: exporters read only whether it failed and why, and a span holding its
 * body's value (a search's rows) kept them alive past the young generation for as long as the
 * span lived (2.1 MB promoted a scavenge at ~1,000 searches/s; bench/PERFORMANCE.md, "Spans that
 * held their rows").
 */
export const end = (fiber: AnyFiber, span: Tracer.Span | undefined, exit: Exit.Exit<unknown, unknown>): void => {
  if (span !== undefined && span.status._tag !== "Ended") span.end(now(fiber), exit._tag === "Success" ? Exit.void : exit)
}

/**
 * `effect` with `span` as the parent of the spans it makes: what Effect.withParentSpan does,
 * by setting the fiber's context and putting it back when the effect ends, instead of
 * Effect.locally's acquire/use/release (about 10 µs a call there, under 2 here). An
 * interruption still restores it (onExit); child fibers inherit the span as they would.
 */
export const withParent = <A, E, R>(fiber: AnyFiber, span: Tracer.AnySpan, effect: Effect.Effect<A, E, R>): Effect.Effect<A, E, R> => {
  const before = fiber.getFiberRef(FiberRef.currentContext)
  setContext(fiber, Context.add(before, Tracer.ParentSpan, span))
  return Effect.onExit(effect, () => Effect.sync(() => setContext(fiber, before)))
}

// FiberRuntime's own setter (what FiberRef.set runs), which the RuntimeFiber interface does not list.
const setContext = (fiber: AnyFiber, context: Context.Context<never>) =>
  (fiber as unknown as { setFiberRef: <A>(ref: FiberRef.FiberRef<A>, value: A) => void }).setFiberRef(FiberRef.currentContext, context)

const noSpan: Pick<Tracer.Span, "attribute"> = { attribute: () => {} }

/**
 * `body` in a span of its own, made by hand (start, withParent, end): Effect.withSpan's
 * span, parent of what the body starts, for a fraction of its cost. With tracing off the
 * body gets a span that ignores its attributes.
 */
export const around = <A, E, R>(
  name: string,
  attributes: Readonly<Record<string, unknown>>,
  body: (span: Pick<Tracer.Span, "attribute">) => Effect.Effect<A, E, R>,
  options: { readonly kind?: Tracer.SpanKind | undefined } = {}
): Effect.Effect<A, E, R> =>
  Effect.withFiberRuntime<A, E, R>((fiber) => {
    const span = start(fiber, name, attributes, options)
    if (span === undefined) return body(noSpan)
    const before = fiber.getFiberRef(FiberRef.currentContext)
    setContext(fiber, Context.add(before, Tracer.ParentSpan, span))
    return Effect.onExit(body(span), (exit) =>
      Effect.sync(() => {
        setContext(fiber, before)
        end(fiber, span, exit)
      }))
  })
