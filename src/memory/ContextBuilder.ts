/**
 * BuildContext: a prompt context for a query within a token budget. The
 * recent conversation comes first (newest turns kept when it must be cut, at
 * most HISTORY_SHARE of the budget); the rest is shared by weight between
 * personal memories, knowledge and the relevant earlier turns of the
 * conversation, each filled best-first; what one section leaves unused the
 * others take, so the budget is used while there is material. Every item shows
 * its date (when it happened, else when it was stored) and every turn its
 * speaker. Knowledge is cited as [n] with its sources listed. The text is
 * rendered through the template, counted with a real BPE tokenizer, and is
 * never over `maxTokens`.
 */
import type { Tiktoken } from "js-tiktoken/lite"
import { ContextItem, type ContextRequest, ContextSource, TEMPLATE_PLACEHOLDERS } from "../domain/Context.ts"
import type { SearchHit } from "../domain/Search.ts"
import type { Message } from "../domain/Session.ts"

export const DEFAULT_MAX_TOKENS = 2000
export const DEFAULT_PERSONAL_WEIGHT = 0.4
export const DEFAULT_KNOWLEDGE_WEIGHT = 0.6
export const DEFAULT_CONVERSATION_WEIGHT = 0.4
export const DEFAULT_HISTORY_LIMIT = 10
/** At most this share of the budget goes to the recent conversation. */
const HISTORY_SHARE = 0.4

type Placeholder = (typeof TEMPLATE_PLACEHOLDERS)[number]

/** The default template's sections, in the order they are shown, with their headings. */
const SECTIONS: ReadonlyArray<readonly [Placeholder, string]> = [
  ["memories", "Memories:"],
  ["knowledge", "Knowledge:"],
  ["earlier", "Conversation (relevant earlier turns):"],
  ["history", "Conversation (recent):"],
  ["sources", "Sources:"]
]

const defaultTemplate = (header: boolean, sections: ReadonlySet<Placeholder>) =>
  [
    ...(header ? ["Query: {{query}}\nNow: {{now}}"] : []),
    ...SECTIONS.filter(([name]) => sections.has(name)).map(([name, heading]) => `${heading}\n{{${name}}}`)
  ].join("\n\n")

const ALL_SECTIONS: ReadonlySet<Placeholder> = new Set(SECTIONS.map(([name]) => name))

export const DEFAULT_TEMPLATE = defaultTemplate(true, ALL_SECTIONS)

/**
 * When the default template's bare frame (query and time lines, headings, "(none)"s) would take
 * more than this share of the budget, the query and time lines go and so do the sections left
 * empty: at 80 tokens the frame alone would otherwise leave no room for a single fact.
 */
const FRAME_SHARE = 0.25

const render = (template: string, values: Readonly<Record<Placeholder, string>>) =>
  template.replace(/\{\{\s*([a-z]+)\s*\}\}/g, (whole, name: string) => (name in values ? values[name as Placeholder] : whole))

const meta = (metadata: Readonly<Record<string, unknown>>, key: string): string | null => {
  const value = metadata[key]
  return typeof value === "string" && value.length > 0 ? value : null
}

/** When it happened if the caller said, else when it was stored. */
const timeOf = (item: { readonly occurredAt: Date | null; readonly createdAt: Date }) => item.occurredAt ?? item.createdAt

/** `2024-05-01` (UTC). */
export const day = (at: Date) => at.toISOString().slice(0, 10)
/** `2024-05-01 14:03` (UTC): turns of one day need their order. */
export const minute = (at: Date) => at.toISOString().slice(0, 16).replace("T", " ")

/** The role, and the speaker's name when the message carries one (metadata.speaker or .name). */
const speaker = (m: Message) => {
  const name = meta(m.metadata, "speaker") ?? meta(m.metadata, "name")
  return name === null || name === m.role ? m.role : `${m.role} (${name})`
}

export interface ContextParts {
  readonly memories: ReadonlyArray<SearchHit>
  readonly knowledge: ReadonlyArray<SearchHit>
  /** The latest turns of the session, oldest first. */
  readonly history: ReadonlyArray<Message>
  /** Turns found by the query, best first (the recent ones among them are left out here). */
  readonly earlier: ReadonlyArray<Message>
  /** What "now" is in the text. */
  readonly now: Date
}

export interface BuiltContext {
  readonly text: string
  readonly tokenCount: number
  readonly sources: ReadonlyArray<ContextSource>
  readonly history: ReadonlyArray<Message>
  readonly earlier: ReadonlyArray<Message>
  readonly items: ReadonlyArray<ContextItem>
  /** Per section: whether every item it was given is in the text (then a deeper search could add more). */
  readonly exhausted: { readonly memories: boolean; readonly knowledge: boolean; readonly earlier: boolean }
}

export const historyLine = (m: Message) => `[${minute(timeOf(m))}] ${speaker(m)}: ${m.content}`
export const memoryLine = (h: SearchHit) => `- [${day(timeOf(h))}] ${h.content}`
export const knowledgeLine = (h: SearchHit, ref: number) => `[${ref}] (${day(timeOf(h))}) ${h.content}`
const sourceLine = (h: SearchHit, ref: number) =>
  `[${ref}] ${[meta(h.metadata, "title"), meta(h.metadata, "source")].filter((x) => x !== null).join(" — ") || h.id}`

interface Section<A> {
  readonly items: ReadonlyArray<A>
  readonly weight: number
  readonly line: (a: A, ref: number) => string
  readonly taken: Array<A>
  used: number
}

export const buildContext = (request: ContextRequest, parts: ContextParts, encoder: Tiktoken): BuiltContext => {
  const count = (text: string) => (text.length === 0 ? 0 : encoder.encode(text).length)
  const maxTokens = request.maxTokens ?? DEFAULT_MAX_TOKENS
  const includeSources = request.includeSources ?? true
  const now = minute(parts.now) + " UTC"

  // Take items best-first while they fit; each line costs its tokens plus a newline.
  const fill = <A>(section: Section<A>, budget: number) => {
    const taken = new Set(section.taken)
    for (const item of section.items) {
      if (taken.has(item)) continue
      const cost = count(section.line(item, section.taken.length + 1)) + 1
      if (section.used + cost > budget) continue
      section.taken.push(item)
      taken.add(item)
      section.used += cost
    }
  }

  const attempt = (template: string, budget: number) => {
    // A section the template does not show gets no budget.
    const shown = (name: Placeholder) => new RegExp(`\\{\\{\\s*${name}\\s*\\}\\}`).test(template)
    const empty = { query: request.query, now, memories: "", knowledge: "", earlier: "", history: "", sources: "" }
    let remaining = Math.max(0, budget - count(render(template, empty)))
    // The recent conversation: newest kept first, shown oldest first.
    const recent: Section<Message> = { items: [...parts.history].reverse(), weight: 1, line: historyLine, taken: [], used: 0 }
    if (shown("history")) fill(recent, Math.floor(remaining * HISTORY_SHARE))
    remaining -= recent.used
    const recentIds = new Set(recent.taken.map((m) => m.id))
    const knowledgeCost = (h: SearchHit, ref: number) => knowledgeLine(h, ref) + (includeSources ? "\n" + sourceLine(h, ref) : "")
    const weightOf = (name: Placeholder, w: number) => (shown(name) ? w : 0)
    const memories: Section<SearchHit> = {
      items: parts.memories,
      weight: weightOf("memories", request.personalWeight ?? DEFAULT_PERSONAL_WEIGHT),
      line: memoryLine,
      taken: [],
      used: 0
    }
    // Knowledge lines and their source lines share the knowledge budget.
    const knowledge: Section<SearchHit> = {
      items: parts.knowledge,
      weight: weightOf("knowledge", request.knowledgeWeight ?? DEFAULT_KNOWLEDGE_WEIGHT),
      line: knowledgeCost,
      taken: [],
      used: 0
    }
    const earlier: Section<Message> = {
      items: parts.earlier.filter((m) => !recentIds.has(m.id)),
      weight: weightOf("earlier", request.conversationWeight ?? DEFAULT_CONVERSATION_WEIGHT),
      line: historyLine,
      taken: [],
      used: 0
    }
    const sections: ReadonlyArray<Section<SearchHit> | Section<Message>> = [memories, knowledge, earlier]
    const total = sections.reduce((sum, s) => sum + s.weight, 0)
    // Each section its share first; then what is left, section by section, to those with weight.
    if (total > 0) for (const s of sections) fill(s as Section<unknown>, Math.floor((remaining * s.weight) / total))
    // The heavier section takes the rest first.
    for (const s of [...sections].sort((a, b) => b.weight - a.weight)) {
      if (s.weight === 0) continue
      const left = remaining - sections.reduce((sum, x) => sum + x.used, 0)
      fill(s as Section<unknown>, s.used + left)
    }
    const keptRecent = [...recent.taken].reverse()
    // Earlier turns read in the order they were said.
    const keptEarlier = [...earlier.taken].sort((a, b) => timeOf(a).getTime() - timeOf(b).getTime())
    const text = render(template, {
      query: request.query,
      now,
      memories: memories.taken.map(memoryLine).join("\n") || "(none)",
      knowledge: knowledge.taken.map((h, i) => knowledgeLine(h, i + 1)).join("\n") || "(none)",
      earlier: keptEarlier.map(historyLine).join("\n") || "(none)",
      history: keptRecent.map(historyLine).join("\n") || "(none)",
      sources: includeSources ? knowledge.taken.map((h, i) => sourceLine(h, i + 1)).join("\n") || "(none)" : ""
    })
    const sources = knowledge.taken.map((h, i) =>
      new ContextSource({
        ref: i + 1,
        id: h.id,
        kind: h.kind,
        score: h.score,
        documentId: meta(h.metadata, "documentId"),
        title: meta(h.metadata, "title"),
        source: meta(h.metadata, "source"),
        position: typeof h.metadata["position"] === "number" ? h.metadata["position"] : null
      }, true)
    )
    const item = (section: ContextItem["section"]) => (x: SearchHit | Message) =>
      new ContextItem({ id: x.id, section, at: timeOf(x), score: "score" in x ? x.score : null }, true)
    const items = [
      ...memories.taken.map(item("memories")),
      ...knowledge.taken.map(item("knowledge")),
      ...keptEarlier.map(item("earlier")),
      ...keptRecent.map(item("recent"))
    ]
    const exhausted = {
      memories: memories.taken.length === memories.items.length,
      knowledge: knowledge.taken.length === knowledge.items.length,
      earlier: earlier.taken.length === earlier.items.length
    }
    return { text, tokenCount: count(text), sources, history: keptRecent, earlier: keptEarlier, items, exhausted }
  }

  // Lines counted apart can merge into fewer or more tokens: shrink the budget until the whole fits.
  const fit = (template: string) => {
    let budget = maxTokens
    let built = attempt(template, budget)
    while (built.tokenCount > maxTokens && budget > 0) {
      budget -= Math.max(1, built.tokenCount - maxTokens)
      built = attempt(template, budget)
    }
    return built
  }
  if (request.template !== undefined) return fit(request.template)
  const none = "(none)"
  const frame = render(DEFAULT_TEMPLATE, { query: request.query, now, memories: none, knowledge: none, earlier: none, history: none, sources: none })
  if (count(frame) <= maxTokens * FRAME_SHARE) return fit(DEFAULT_TEMPLATE)
  // A tight budget: no query or time lines, no headings for what has nothing to show; then none for
  // what ended empty, so the sections that hold something get the room.
  const material = new Set<Placeholder>(([
    ["memories", parts.memories], ["knowledge", parts.knowledge], ["earlier", parts.earlier], ["history", parts.history]
  ] as const).flatMap(([name, items]) => (items.length > 0 ? [name] : [])))
  if (material.has("knowledge") && includeSources) material.add("sources")
  if (material.size === 0) return fit(defaultTemplate(false, ALL_SECTIONS))
  const first = fit(defaultTemplate(false, material))
  const filled = new Set<Placeholder>(first.items.map((i) => (i.section === "recent" ? "history" : i.section)))
  if (filled.has("knowledge") && includeSources) filled.add("sources")
  return filled.size === 0 || filled.size === material.size ? first : fit(defaultTemplate(false, filled))
}
