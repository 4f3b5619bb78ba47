/**
 * One line that names the field, from a schema decode error: the first issue
 * only (Effect's tree formatter prints every branch of a union, which reads as
 * contradictions), unknown fields said plainly, long values cut.
 */
import { ParseResult } from "effect"

const MAX_MESSAGE = 300

const oneLine = (text: string) => {
  const line = text.replace(/\s*\n\s*/g, " ").trim()
  return line.length > MAX_MESSAGE ? `${line.slice(0, MAX_MESSAGE)}…` : line
}

/** One issue as `field: what is wrong`. `where` names what the fields belong to ("query parameter", say). */
export const describeIssue = (issue: ParseResult.ArrayFormatterIssue, where = "field"): string => {
  const path = issue.path.map(String).join(".")
  if (issue._tag === "Unexpected") {
    const expected = /expected: (.*)$/.exec(issue.message)?.[1]?.replace(/"/g, "").split(" | ").join(", ")
    return oneLine(`${path}: unknown ${where}${expected ? ` (known: ${expected})` : ""}`)
  }
  if (issue._tag === "Missing") return `${path}: is required`
  const message = oneLine(issue.message)
  return path === "" || message.startsWith(path) ? message : `${path}: ${message}`
}

export const describeParseError = (error: ParseResult.ParseError, where?: string): string => {
  const [issue] = ParseResult.ArrayFormatter.formatErrorSync(error)
  return issue ? describeIssue(issue, where) : oneLine(error.message)
}
