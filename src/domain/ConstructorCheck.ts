/**
 * The check `new C(props)` runs for a Schema class, built once.
 *
 * Schema.Class's own constructor validates through `ParseResult.validateSync(schema)`, which
 * derives the schema's type side again for every instance; when a field is a transformation (an
 * ISO 8601 time on the wire) that is a new AST each time, so the validator is rebuilt for every
 * instance: 30–60 µs a request (StoreMemoryRequest, ContextRequest), more than a cached search
 * costs. A class built on `constructorCheck` passes its props through the check made here and tells
 * its super they are checked; what is accepted and the errors thrown are the constructor's own.
 */
import { Schema } from "effect"

export const constructorCheck = <A, I, R>(fields: Schema.Schema<A, I, R>, identifier: string): (props: unknown) => A =>
  Schema.validateSync(Schema.typeSchema(fields).annotations({ identifier: `${identifier} (Constructor)` }))

/** Whether `new C(props, options)` was told its props are already valid. */
export const validationDisabled = (options?: Schema.MakeOptions): boolean =>
  options === true || (typeof options === "object" && options.disableValidation === true)
