/**
 * Request bodies are decoded strictly: a field the schema does not name is an
 * error that names it (`{"namspace": …}` is a 400, never a silent default).
 * The parse option travels with the schema, so HTTP, batch items and library
 * callers all decode the same way.
 */
import { Schema } from "effect"

const strictOptions = { parseOptions: { onExcessProperty: "error" as const } }

/** A Struct that refuses unknown fields. */
export const strictStruct = <Fields extends Schema.Struct.Fields>(fields: Fields) => Schema.Struct(fields).annotations(strictOptions)

/** Any schema (a filtered Struct, say) made to refuse unknown fields. */
export const strict = <S extends Schema.Schema.Any>(schema: S): S => schema.annotations(strictOptions) as S
