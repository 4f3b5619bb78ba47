/** Deleting what a selection names (POST /v1/memories/delete, `Memory.deleteWhere`). */
import { Schema } from "effect"
import { constructorCheck, validationDisabled } from "./ConstructorCheck.ts"
import { MetadataFilter } from "./Filter.ts"
import { MemoryKind, Namespace, SessionId, Tags } from "./Memory.ts"
import { strict } from "./Strict.ts"
import { orderedRange, TimeRangeFields } from "./TimeRange.ts"

const DeleteWhereRequestFields = strict(Schema.Struct({
  namespace: Schema.optional(Namespace),
  filter: Schema.optional(MetadataFilter),
  kinds: Schema.optional(Schema.Array(MemoryKind)),
  tags: Schema.optional(Tags),
  sessionId: Schema.optional(SessionId),
  ...TimeRangeFields
})).pipe(
  Schema.filter((r) =>
    r.filter !== undefined || r.kinds !== undefined || r.tags !== undefined || r.sessionId !== undefined ||
    r.since !== undefined || r.until !== undefined ||
    "say what to delete: a filter, kinds, tags, a sessionId or since/until (deleting a whole namespace needs {\"filter\": {}})"
  ),
  Schema.filter(orderedRange)
)
// since/until are ISO strings on the wire: the constructor's check is built once (ConstructorCheck.ts).
const checkDeleteWhereRequest = constructorCheck(DeleteWhereRequestFields, "DeleteWhereRequest")

export class DeleteWhereRequest extends Schema.Class<DeleteWhereRequest>("DeleteWhereRequest")(DeleteWhereRequestFields) {
  constructor(props: typeof DeleteWhereRequestFields.Type, options?: Schema.MakeOptions) {
    super(validationDisabled(options) ? props : checkDeleteWhereRequest(props), true)
  }
}

export const Deleted = Schema.Struct({ deleted: Schema.Int })
