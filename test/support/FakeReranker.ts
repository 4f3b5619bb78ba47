/**
 * A fake `/rerank` server for tests: a real `node:http` server on a free
 * loopback port speaking the Cohere/Jina protocol (POST {model, query,
 * documents, top_n} → {results: [{index, relevance_score}]}), or TEI's bare
 * array when asked. Scores come from a function the test sets; every request
 * is recorded; faults can be queued, each consumed by the next request.
 */
import { Effect, type Scope } from "effect"
import * as Http from "node:http"
import type { Socket } from "node:net"

export type RerankFault =
  | { readonly _tag: "Status"; readonly status: number }
  | { readonly _tag: "Hang" }
  | { readonly _tag: "Malformed"; readonly body: string }

export interface RerankRequest {
  readonly path: string
  readonly authorization: string | undefined
  readonly body: {
    readonly model?: string
    readonly query: string
    readonly documents: ReadonlyArray<string>
    readonly top_n?: number
  }
}

export interface FakeReranker {
  /** e.g. http://127.0.0.1:PORT/v1 (the base URL; requests go to /v1/rerank). */
  readonly baseUrl: string
  readonly requests: Array<RerankRequest>
  readonly fault: (...faults: ReadonlyArray<RerankFault>) => void
  /** How documents score (default: the share of the query's words the document holds). */
  score: (query: string, document: string) => number
  /** `cohere` (default) or `tei` answers. */
  shape: "cohere" | "tei"
  readonly reset: () => void
}

const words = (text: string) => new Set(text.toLowerCase().match(/[a-z0-9]+/g) ?? [])

const overlap = (query: string, document: string) => {
  const q = words(query)
  const d = words(document)
  return q.size === 0 ? 0 : [...q].filter((w) => d.has(w)).length / q.size
}

export const makeFakeReranker: Effect.Effect<FakeReranker, never, Scope.Scope> = Effect.acquireRelease(
  Effect.async<{ readonly fake: FakeReranker; readonly server: Http.Server; readonly sockets: Set<Socket> }>((resume) => {
    const faults: Array<RerankFault> = []
    const sockets = new Set<Socket>()
    const fake: FakeReranker = {
      baseUrl: "",
      requests: [],
      fault: (...more) => void faults.push(...more),
      score: overlap,
      shape: "cohere",
      reset: () => {
        faults.length = 0
        fake.requests.length = 0
        fake.score = overlap
        fake.shape = "cohere"
      }
    }
    const server = Http.createServer((req, res) => {
      const chunks: Array<Buffer> = []
      req.on("data", (c: Buffer) => chunks.push(c))
      req.on("end", () => {
        const body = JSON.parse(Buffer.concat(chunks).toString("utf8") || "{}") as RerankRequest["body"]
        fake.requests.push({ path: req.url ?? "", authorization: req.headers.authorization, body })
        const fault = faults.shift()
        if (fault?._tag === "Hang") return
        if (fault?._tag === "Status") {
          res.writeHead(fault.status, { "content-type": "application/json" }).end(JSON.stringify({ message: "injected" }))
          return
        }
        if (fault?._tag === "Malformed") {
          res.writeHead(200, { "content-type": "application/json" }).end(fault.body)
          return
        }
        if (req.method !== "POST" || !req.url?.endsWith("/rerank") || !Array.isArray(body.documents)) {
          res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ message: "not found" }))
          return
        }
        const ranked = body.documents
          .map((d, index) => ({ index, score: fake.score(body.query, d) }))
          .sort((a, b) => b.score - a.score)
          .slice(0, body.top_n ?? body.documents.length)
        const answer = fake.shape === "tei"
          ? ranked
          : { results: ranked.map((r) => ({ index: r.index, relevance_score: r.score })), meta: { billed_units: { search_units: 1 } } }
        res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(answer))
      })
    })
    server.on("connection", (s) => {
      sockets.add(s)
      s.on("close", () => sockets.delete(s))
    })
    server.listen(0, "127.0.0.1", () => {
      const address = server.address()
      const port = typeof address === "object" && address !== null ? address.port : 0
      Object.assign(fake, { baseUrl: `http://127.0.0.1:${port}/v1` })
      resume(Effect.succeed({ fake, server, sockets }))
    })
  }),
  ({ server, sockets }) =>
    Effect.async<void>((resume) => {
      for (const s of sockets) s.destroy()
      server.close(() => resume(Effect.void))
    })
).pipe(Effect.map(({ fake }) => fake))
