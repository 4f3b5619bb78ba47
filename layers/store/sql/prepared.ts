/**
 * A statement that starts with this comment may be sent as a named prepared statement: the
 * server parses and analyses it once per connection instead of per call (pgvector's store does, see
 * layers/store/pgvector/PreparingClient.ts; PGlite reads it as the comment it is). Only for
 * statements whose text takes a few shapes (the plain vector search), never one built from a
 * caller's filter, so a connection holds a handful of them, not one per question.
 */
export const PREPARED = "/* prepared */ "
