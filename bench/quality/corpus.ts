/**
 * The labelled set the `quality` scenario ranks: generated from a seed, so the
 * repository carries it as code and every run sees the same records, queries
 * and judgements. Three kinds of record, as an agent's memory holds them:
 *
 * - prose: notes about a service and a topic, with the words inflected
 *   (evicted / eviction / evicts) and padded with ordinary sentences;
 * - identifiers: error codes, function names, config keys and tickets, defined
 *   in one record and mentioned in passing in others;
 * - chat turns: multi-session conversations where a fact is said once (or
 *   spread over two turns) among small talk.
 *
 * Queries ask for a fact in other words than the record's (other inflections,
 * identifiers spelt apart, questions about a turn). Grades: 2 for the record(s)
 * that answer, 1 for records about the same thing that do not.
 */
import { Random } from "../random.ts"

export type Part = "prose" | "identifiers" | "chat"

export interface LabelledRecord {
  readonly id: string
  readonly content: string
  readonly part: Part
  readonly kind: "knowledge" | "message"
  readonly sessionId?: string | undefined
}

export interface LabelledQuery {
  readonly id: string
  readonly text: string
  readonly part: Part
  /** A chat question is asked within its conversation, as an agent asks its own user's history. */
  readonly sessionId?: string | undefined
  /** Record id → grade (2 answers, 1 related). */
  readonly relevant: ReadonlyMap<string, number>
}

export interface Corpus {
  readonly records: ReadonlyArray<LabelledRecord>
  readonly queries: ReadonlyArray<LabelledQuery>
}

const pick = <A>(random: Random, items: ReadonlyArray<A>): A => items[random.int(items.length)]!
const shuffle = <A>(random: Random, items: ReadonlyArray<A>): Array<A> => {
  const out = [...items]
  for (let i = out.length - 1; i > 0; i--) {
    const j = random.int(i + 1)
    ;[out[i], out[j]] = [out[j]!, out[i]!]
  }
  return out
}

const SERVICES = ("billing search checkout inventory payments notifications identity gateway reporting ledger shipping " +
  "catalog pricing analytics scheduler storage messaging onboarding recommendations fulfilment").split(" ")

/** A topic: the forms its words take in records, and in queries. */
interface Topic {
  readonly record: ReadonlyArray<string>
  readonly query: ReadonlyArray<string>
  readonly facts: ReadonlyArray<string>
}

const TOPICS: ReadonlyArray<Topic> = [
  { record: ["evicted", "eviction", "cache", "cached entries"], query: ["evicting", "evicts", "caching"], facts: ["sessions", "price lists", "tokens"] },
  { record: ["migrated", "migration", "schema", "columns"], query: ["migrating", "migrations", "schemas"], facts: ["the orders table", "customer ids", "audit rows"] },
  { record: ["deployed", "deployment", "rollout", "release"], query: ["deploying", "deploys", "rolled out"], facts: ["version two", "the canary", "the hotfix"] },
  { record: ["throttled", "throttling", "rate limit", "requests"], query: ["throttle", "throttles", "limiting"], facts: ["partner traffic", "bulk exports", "login attempts"] },
  { record: ["indexed", "indexing", "reindex", "shards"], query: ["indexes", "index", "sharding"], facts: ["product titles", "old invoices", "support tickets"] },
  { record: ["encrypted", "encryption", "keys", "rotation"], query: ["encrypting", "encrypts", "rotating"], facts: ["card numbers", "backups", "api secrets"] },
  { record: ["retried", "retries", "backoff", "timeouts"], query: ["retrying", "retry", "timing out"], facts: ["webhook calls", "bank transfers", "email sends"] },
  { record: ["archived", "archiving", "retention", "cold storage"], query: ["archive", "archives", "retaining"], facts: ["closed accounts", "call recordings", "log files"] },
  { record: ["monitored", "monitoring", "alerts", "dashboards"], query: ["monitor", "alerting", "dashboard"], facts: ["queue depth", "error rates", "disk usage"] },
  { record: ["replicated", "replication", "replicas", "failover"], query: ["replicating", "replica", "failing over"], facts: ["the primary database", "user profiles", "session state"] },
  { record: ["batched", "batching", "queues", "workers"], query: ["batch", "batches", "queued"], facts: ["nightly exports", "thumbnail jobs", "invoice runs"] },
  { record: ["validated", "validation", "schemas", "payloads"], query: ["validating", "validates", "invalid"], facts: ["address fields", "coupon codes", "uploaded files"] },
  { record: ["authenticated", "authentication", "tokens", "sessions"], query: ["authenticating", "authenticates", "login"], facts: ["service accounts", "mobile clients", "admin users"] },
  { record: ["compressed", "compression", "payload size", "bandwidth"], query: ["compressing", "compresses", "compress"], facts: ["image uploads", "api responses", "report files"] },
  { record: ["paginated", "pagination", "cursors", "page size"], query: ["paginating", "paginate", "paging"], facts: ["search results", "order history", "audit logs"] },
  { record: ["scheduled", "scheduling", "cron jobs", "time zones"], query: ["schedule", "schedules", "scheduler"], facts: ["reminder emails", "cleanup tasks", "report generation"] }
]

const REASONS = ["after the outage last month", "to cut costs", "because latency doubled", "before the audit",
  "when traffic spiked", "at the request of the finance team", "to meet the new contract", "during the freeze"]

const FILLER = [
  "The team discussed this at the weekly sync and agreed to revisit it.",
  "Nobody objected, although a few people wanted more data first.",
  "There is a longer write-up in the team wiki with the numbers.",
  "It took a couple of days longer than planned, which is normal.",
  "We should check again next quarter whether it still holds.",
  "Most of the work was reviewing the existing code and tests.",
  "The change was small, but the discussion around it was long.",
  "Customers did not notice anything during the change.",
  "A follow-up ticket tracks the remaining clean-up.",
  "Please ask in the channel if anything here is unclear.",
  "This note replaces the older one from last year.",
  "The on-call engineer was informed before it started."
]

const proseCorpus = (random: Random, records: Array<LabelledRecord>, queries: Array<LabelledQuery>) => {
  // Each (service, topic) pair gets a few notes; one states the fact a query asks for.
  let n = 0
  const pairs = shuffle(random, SERVICES.flatMap((s) => TOPICS.map((t, ti) => ({ service: s, topic: t, ti }))))
  for (const { service, topic } of pairs.slice(0, 120)) {
    const fact = pick(random, topic.facts)
    const reason = pick(random, REASONS)
    const ids: Array<string> = []
    const notes = 1 + random.int(4)
    for (let i = 0; i < notes; i++) {
      const id = `prose-${n++}`
      ids.push(id)
      const sentences = i === 0
        ? [`The ${service} service ${topic.record[0]} ${fact} ${reason}.`, `The ${topic.record[1]} covered the ${topic.record[2]} and the ${topic.record[3]}.`]
        : [`Notes on ${topic.record[1]} in ${service}: the ${topic.record[2]} needed another look.`, `Someone asked whether the ${topic.record[3]} in ${service} were affected.`]
      const padding = shuffle(random, FILLER).slice(0, 1 + random.int(6))
      records.push({ id, content: shuffle(random, [...sentences, ...padding]).join(" "), part: "prose", kind: "knowledge" })
    }
    const relevant = new Map(ids.map((id, i) => [id, i === 0 ? 2 : 1]))
    const verb = pick(random, topic.query)
    const phrasing = pick(random, [
      `why is ${service} ${verb} ${fact}`,
      `${service} ${verb} ${fact}`,
      `when did we start ${verb} ${fact} in ${service}?`,
      `what happened with ${verb} in the ${service} service`
    ])
    queries.push({ id: `q-prose-${queries.length}`, text: phrasing, part: "prose", relevant })
  }
  // Notes about a topic in general, that mention no service: near misses for every query on that topic.
  for (let i = 0; i < 150; i++) {
    const topic = pick(random, TOPICS)
    records.push({
      id: `prose-${n++}`,
      content: [`A general note on ${topic.record[1]}: ${topic.record[2]} and ${topic.record[3]} matter most.`, ...shuffle(random, FILLER).slice(0, 2 + random.int(5))].join(" "),
      part: "prose",
      kind: "knowledge"
    })
  }
}

const VERBS = ["get", "parse", "load", "save", "sync", "resolve", "build", "fetch", "validate", "render", "merge", "compute"]
const NOUNS = ["User", "Invoice", "Order", "Session", "Token", "Cart", "Report", "Shipment", "Ledger", "Coupon", "Profile", "Webhook"]
const SUFFIXES = ["ById", "Line", "Batch", "Summary", "Entry", "ForTenant", "FromCache", "Async"]
const FAULTS = ["connection refused", "deadline exceeded", "checksum mismatch", "quota exhausted", "stale lock", "missing tenant"]

const identifierCorpus = (random: Random, records: Array<LabelledRecord>, queries: Array<LabelledQuery>) => {
  let n = 0
  const used = new Set<string>()
  for (let i = 0; i < 150; i++) {
    const verb = pick(random, VERBS)
    const noun = pick(random, NOUNS)
    const fn = `${verb}${noun}${pick(random, SUFFIXES)}`
    const code = `E${1000 + random.int(9000)}`
    const key = `${noun.toUpperCase()}_${pick(random, ["POOL_MAX", "TIMEOUT_MS", "BATCH_SIZE", "RETRY_LIMIT", "TTL_SECONDS"])}`
    const ticket = `${pick(random, SERVICES).slice(0, 4).toUpperCase()}-${100 + random.int(900)}`
    const signature = `${fn}|${code}`
    if (used.has(signature)) continue
    used.add(signature)
    const fault = pick(random, FAULTS)
    const file = `src/${noun.toLowerCase()}s/${verb}${noun}.ts`
    const definition = `prose-id-${n++}`
    records.push({
      id: definition,
      content: `Error ${code} (${fault}) is raised by ${fn} in ${file} when ${key} is too low. See ticket ${ticket}.`,
      part: "identifiers",
      kind: "knowledge"
    })
    const mentions: Array<string> = []
    for (let m = 0; m < random.int(3); m++) {
      const id = `prose-id-${n++}`
      mentions.push(id)
      records.push({
        id,
        content: pick(random, [
          `Saw ${code} again in the logs during the deploy; ${pick(random, FILLER)}`,
          `${ticket} is still open. ${pick(random, FILLER)}`,
          `Refactored ${fn} to take an options object. ${pick(random, FILLER)}`
        ]),
        part: "identifiers",
        kind: "knowledge"
      })
    }
    const relevant = new Map<string, number>([[definition, 2], ...mentions.map((id) => [id, 1] as const)])
    // Asked for as written, or spelt apart the way a person types it.
    const spaced = fn.replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase()
    const text = pick(random, [
      `what does ${code} mean`,
      `${fn} ${fault.split(" ")[0]}`,
      `why does ${spaced} fail with ${fault}`,
      `which setting causes ${code}`,
      `${key} too low error`
    ])
    queries.push({ id: `q-id-${queries.length}`, text, part: "identifiers", relevant })
  }
}

const NAMES = ("Maya Omar Lena Tariq Sofia Jonas Priya Mateo Hana Elias Zoe Idris Clara Ravi Nora Felix Amara Theo Yusuf Ines " +
  "Kai Leila Bruno Mina Oscar Dalia Hugo Sana Viktor Alma").split(" ")
const RELATIONS = ["sister", "brother", "cousin", "neighbour", "colleague", "friend", "aunt", "manager"]
const CITIES = ("Lisbon Oslo Nairobi Montreal Osaka Valencia Krakow Austin Dublin Hanoi Lima Tbilisi Porto Seoul Zagreb " +
  "Bergen Cusco Tunis Quito Gdansk").split(" ")
const PETS = ["dog", "cat", "parrot", "rabbit", "tortoise", "hamster"]
const PET_NAMES = ("Biscuit Pepper Mango Juniper Waffles Pickle Nimbus Olive Tofu Pretzel Sprout Miso").split(" ")
const HOBBIES = ["pottery", "bouldering", "birdwatching", "sourdough baking", "chess", "salsa dancing", "woodworking", "kayaking"]
const SMALL_TALK = [
  "haha yes, exactly", "that sounds great", "ok, let me think about it", "sure, no rush", "oh nice!", "good morning",
  "I was so tired yesterday", "did you see the game last night?", "thanks, that helps a lot", "we should grab coffee sometime",
  "the weather is awful today", "I'm back from lunch", "sorry, I missed your message", "let's talk tomorrow", "lol",
  "work has been busy this week", "I need a holiday", "can you send me the link again?", "that's a good point", "totally agree"
]

const chatCorpus = (random: Random, records: Array<LabelledRecord>, queries: Array<LabelledQuery>) => {
  let n = 0
  for (let c = 0; c < 40; c++) {
    const session = `chat-${c}`
    const asked = queries.length
    const turns: Array<{ id: string; content: string }> = []
    const say = (content: string, speaker: "user" | "assistant") => {
      const id = `turn-${n++}`
      turns.push({ id, content: `${speaker === "user" ? "User" : "Assistant"}: ${content}` })
      return id
    }
    const facts: Array<() => void> = []
    const name = pick(random, NAMES)
    const relation = pick(random, RELATIONS)
    const city = pick(random, CITIES)
    const pet = pick(random, PETS)
    const petName = pick(random, PET_NAMES)
    const hobby = pick(random, HOBBIES)
    const otherCity = pick(random, CITIES.filter((x) => x !== city))
    // Facts said once, each at a random place among small talk; the question is asked later, in other words.
    facts.push(() => {
      const id = say(`my ${relation} ${name} just moved to ${city} for a new job`, "user")
      const mention = say(`${name} says hi, by the way`, "user")
      queries.push({ id: `q-chat-${queries.length}`, text: `where did my ${relation} move to?`, part: "chat", relevant: new Map([[id, 2], [mention, 1]]) })
    })
    facts.push(() => {
      const id = say(`we adopted a ${pet} called ${petName} last weekend`, "user")
      queries.push({ id: `q-chat-${queries.length}`, text: `what is the name of my ${pet}?`, part: "chat", relevant: new Map([[id, 2]]) })
    })
    facts.push(() => {
      const id = say(`I started ${hobby} classes on Tuesdays`, "user")
      const reply = say(`${hobby} is a lovely thing to take up! How are the classes going?`, "assistant")
      queries.push({ id: `q-chat-${queries.length}`, text: `which day are my ${hobby.split(" ")[0]} lessons`, part: "chat", relevant: new Map([[id, 2], [reply, 1]]) })
    })
    // Two hops: the pet in one turn, the trip in another.
    facts.push(() => {
      const first = say(`${petName} hates long car rides`, "user")
      for (let s = 0; s < 3; s++) say(pick(random, SMALL_TALK), random.next() < 0.5 ? "user" : "assistant")
      const second = say(`we're driving to ${otherCity} next month, so that will be fun with ${petName}`, "user")
      queries.push({ id: `q-chat-${queries.length}`, text: `which trip will be hard for my ${pet}?`, part: "chat", relevant: new Map([[first, 2], [second, 2]]) })
    })
    for (const fact of shuffle(random, facts)) {
      for (let s = 0; s < 4 + random.int(8); s++) say(pick(random, SMALL_TALK), random.next() < 0.5 ? "user" : "assistant")
      fact()
    }
    for (const turn of turns) records.push({ ...turn, part: "chat", kind: "message", sessionId: session })
    for (let q = asked; q < queries.length; q++) queries[q] = { ...queries[q]!, sessionId: session }
  }
}

export const makeCorpus = (seed = 7): Corpus => {
  const random = new Random(seed)
  const records: Array<LabelledRecord> = []
  const queries: Array<LabelledQuery> = []
  proseCorpus(random, records, queries)
  identifierCorpus(random, records, queries)
  chatCorpus(random, records, queries)
  // Chat turns repeat ("lol"): a memory store keeps each message, but the judgements must not point at a text twice.
  return { records, queries }
}
