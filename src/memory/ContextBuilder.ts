/**
 * BuildContext: a prompt context for a query within a token budget. The
 * conversation so far comes first (newest messages kept when it must be cut),
 * then the rest of the budget is shared between personal memories and
 * knowledge by their weights (what one side leaves unused, the other may take),
 * each filled best-first. Knowledge is cited as [n] with its sources listed.
 * The text is rendered through the template and counted with a real BPE
 * tokenizer, and is never over `maxTokens`.
 */
import type { Tiktoken } from "js-tiktoken/lite"
import { ContextSource, type ContextRequest, TEMPLATE_PLACEHOLDERS } from "../domain/Context.ts"
import type { SearchHit } from "../domain/Search.ts"
import type { Message } from "../domain/Session.ts"

export const DEFAULT_MAX_TOKENS = 2000
export const DEFAULT_PERSONAL_WEIGHT = 0.4
export const DEFAULT_KNOWLEDGE_WEIGHT = 0.6
export const DEFAULT_HISTORY_LIMIT = 10
/** At most this share of the budget goes to history. */
const HISTORY_SHARE = 0.4

export const DEFAULT_TEMPLATE = [
  "Query: {{query}}",
  "",
  "What I know about the user:",
  "{{memories}}",
  "",
  "Relevant knowledge:",
  "{{knowledge}}",
  "",
  "Conversation so far:",
  "{{history}}",
  "",
  "Sources:",
  "{{sources}}"
].join("\n")

type Placeholder = (typeof TEMPLATE_PLACEHOLDERS)[number]

const render = (template: string, values: Readonly<Record<Placeholder, string>>) =>
  template.replace(/\{\{\s*([a-z]+)\s*\}\}/g, (whole, name: string) => (name in values ? values[name as Placeholder] : whole))

const meta = (hit: SearchHit, key: string): string | null => {
  const value = hit.metadata[key]
  return typeof value === "string" ? value : null
}

export interface ContextParts {
  readonly memories: ReadonlyArray<SearchHit>
  readonly knowledge: ReadonlyArray<SearchHit>
  readonly history: ReadonlyArray<Message>
}

export interface BuiltContext {
  readonly text: string
  readonly tokenCount: number
  readonly sources: ReadonlyArray<ContextSource>
  readonly history: ReadonlyArray<Message>
}

export const buildContext = (request: ContextRequest, parts: ContextParts, encoder: Tiktoken): BuiltContext => {
  const count = (text: string) => (text.length === 0 ? 0 : encoder.encode(text).length)
  const maxTokens = request.maxTokens ?? DEFAULT_MAX_TOKENS
  const template = request.template ?? DEFAULT_TEMPLATE
  const includeSources = request.includeSources ?? true

  const historyLine = (m: Message) => `${m.role}: ${m.content}`
  const memoryLine = (h: SearchHit) => `- ${h.content}`
  const knowledgeLine = (h: SearchHit, ref: number) => `[${ref}] ${h.content}`
  const sourceLine = (h: SearchHit, ref: number) =>
    `[${ref}] ${[meta(h, "title"), meta(h, "source")].filter((x) => x !== null).join(" — ") || h.id}`

  // Take items best-first while they fit; each line costs its tokens plus a newline.
  const fill = <A>(items: ReadonlyArray<A>, budget: number, line: (a: A, i: number) => string) => {
    const taken: Array<A> = []
    let used = 0
    for (const item of items) {
      const cost = count(line(item, taken.length + 1)) + 1
      if (used + cost > budget) continue
      taken.push(item)
      used += cost
    }
    return { taken, used }
  }

  const attempt = (budget: number) => {
    const skeleton = count(render(template, { query: request.query, memories: "", knowledge: "", history: "", sources: "" }))
    let remaining = Math.max(0, budget - skeleton)
    // History: newest kept first, shown oldest first.
    const newestFirst = [...parts.history].reverse()
    const history = fill(newestFirst, Math.floor(remaining * HISTORY_SHARE), historyLine)
    remaining -= history.used
    const pw = request.personalWeight ?? DEFAULT_PERSONAL_WEIGHT
    const kw = request.knowledgeWeight ?? DEFAULT_KNOWLEDGE_WEIGHT
    const total = pw + kw
    const personalBudget = total === 0 ? 0 : Math.floor((remaining * pw) / total)
    const memories = fill(parts.memories, pw === 0 ? 0 : personalBudget, memoryLine)
    // Knowledge lines and their source lines share the knowledge budget.
    const knowledgeCost = (h: SearchHit, ref: number) => knowledgeLine(h, ref) + (includeSources ? "\n" + sourceLine(h, ref) : "")
    const knowledge = fill(parts.knowledge, kw === 0 ? 0 : remaining - memories.used, knowledgeCost)
    // What knowledge left unused goes back to personal memories.
    const moreMemories = pw === 0
      ? memories
      : fill(parts.memories, remaining - knowledge.used, memoryLine)
    const keptHistory = history.taken.reverse()
    const text = render(template, {
      query: request.query,
      memories: moreMemories.taken.map(memoryLine).join("\n") || "(none)",
      knowledge: knowledge.taken.map((h, i) => knowledgeLine(h, i + 1)).join("\n") || "(none)",
      history: keptHistory.map(historyLine).join("\n") || "(none)",
      sources: includeSources ? knowledge.taken.map((h, i) => sourceLine(h, i + 1)).join("\n") || "(none)" : ""
    })
    const sources = knowledge.taken.map((h, i) =>
      new ContextSource({
        ref: i + 1,
        id: h.id,
        kind: h.kind,
        score: h.score,
        documentId: meta(h, "documentId"),
        title: meta(h, "title"),
        source: meta(h, "source"),
        position: typeof h.metadata["position"] === "number" ? h.metadata["position"] : null
      }, true)
    )
    return { text, tokenCount: count(text), sources, history: keptHistory }
  }

  // Lines counted apart can merge into fewer or more tokens: shrink the budget until the whole fits.
  let budget = maxTokens
  let built = attempt(budget)
  while (built.tokenCount > maxTokens && budget > 0) {
    budget -= Math.max(1, built.tokenCount - maxTokens)
    built = attempt(budget)
  }
  return built
}
