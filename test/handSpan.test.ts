/**
 * HandSpan.around: the span Effect.withSpan would make (named, with attributes, the parent of
 * what its body starts, ended with how the body ended: a success without its value), and the
 * fiber's span put back afterwards, on success, failure and interruption alike.
 */
import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Exit, Fiber, Option } from "effect"
import * as HandSpan from "../src/observability/handSpan.ts"
import { recordingTracer } from "./support/recordingTracer.ts"

const parentName = (span: { readonly parent: Option.Option<{ readonly _tag: string }> }) =>
  Option.match(span.parent, { onNone: () => undefined, onSome: (p) => (p._tag === "Span" ? (p as unknown as { name: string }).name : p._tag) })

const currentName = Effect.map(Effect.currentSpan, (s) => s.name).pipe(Effect.orElseSucceed(() => "none"))

describe("HandSpan.around", () => {
  it.effect("makes a child of the current span, the parent of the body's spans, ended with the body's exit", () => {
    const { spans, tracer } = recordingTracer()
    return Effect.gen(function*() {
      const inside = yield* HandSpan.around("outer.step", { "x.attr": 1 }, (span) =>
        Effect.gen(function*() {
          span.attribute("x.late", true)
          yield* Effect.void.pipe(Effect.withSpan("inner.work"))
          return yield* currentName
        }))
      expect(inside).toBe("outer.step")
      expect(yield* currentName).toBe("root")
      const [step, inner] = ["outer.step", "inner.work"].map((n) => spans.find((s) => s.name === n)!)
      expect(parentName(step!)).toBe("root")
      expect(parentName(inner!)).toBe("outer.step")
      expect(step!.attributes.get("x.attr")).toBe(1)
      expect(step!.attributes.get("x.late")).toBe(true)
      expect(step!.status._tag === "Ended" && Exit.isSuccess(step!.status.exit)).toBe(true)
    }).pipe(Effect.withSpan("root"), Effect.withTracer(tracer))
  })

  it.effect("a span ended by a success does not hold the body's value (only that it succeeded)", () => {
    const { spans, tracer } = recordingTracer()
    return Effect.gen(function*() {
      const rows = [{ id: "a", content: "x".repeat(1_000) }]
      expect(yield* HandSpan.around("search.step", {}, () => Effect.succeed(rows))).toBe(rows)
      const step = spans.find((s) => s.name === "search.step")!
      expect(step.status._tag === "Ended" && step.status.exit).toStrictEqual(Exit.void)
    }).pipe(Effect.withSpan("root"), Effect.withTracer(tracer))
  })

  it.effect("a failure ends the span with it and puts the fiber's span back", () => {
    const { spans, tracer } = recordingTracer()
    return Effect.gen(function*() {
      const exit = yield* Effect.exit(HandSpan.around("failing.step", {}, () => Effect.fail("no")))
      expect(Exit.isFailure(exit)).toBe(true)
      expect(yield* currentName).toBe("root")
      const step = spans.find((s) => s.name === "failing.step")!
      expect(step.status._tag === "Ended" && Exit.isFailure(step.status.exit)).toBe(true)
    }).pipe(Effect.withSpan("root"), Effect.withTracer(tracer))
  })

  it.effect("an interrupted body ends its span; the fiber's span is back for the finalizers after it", () => {
    const { spans, tracer } = recordingTracer()
    return Effect.gen(function*() {
      const started = yield* Deferred.make<void>()
      const seen = yield* Deferred.make<string>()
      const fiber = yield* HandSpan.around("long.step", {}, () => Effect.zipRight(Deferred.succeed(started, undefined), Effect.never)).pipe(
        Effect.ensuring(Effect.flatMap(currentName, (name) => Deferred.succeed(seen, name))),
        Effect.withSpan("task"),
        Effect.fork
      )
      yield* Deferred.await(started)
      yield* Fiber.interrupt(fiber)
      expect(yield* Deferred.await(seen)).toBe("task")
      expect(spans.find((s) => s.name === "long.step")!.status._tag).toBe("Ended")
    }).pipe(Effect.withTracer(tracer))
  })

  it.effect("with tracing off the body runs, and its attributes go nowhere", () =>
    Effect.gen(function*() {
      const { spans, tracer } = recordingTracer()
      const answer = yield* HandSpan.around("quiet.step", {}, (span) => Effect.sync(() => (span.attribute("a", 1), 3))).pipe(
        Effect.withTracerEnabled(false),
        Effect.withTracer(tracer)
      )
      expect(answer).toBe(3)
      expect(spans).toEqual([])
    }))
})
