/** An MCP transport that could not start or answer: the SDK's Promise rejections, typed. */
import { Data } from "effect"

export class McpTransportError extends Data.TaggedError("McpTransportError")<{ readonly message: string }> {}
