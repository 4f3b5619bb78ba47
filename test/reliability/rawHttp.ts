/** HTTP requests with full control of bytes and headers (no client fixing them up), for attacks on the edge. */
import { Agent, request as httpRequest } from "node:http"

export interface RawRequest {
  readonly method: string
  readonly path: string
  readonly headers?: Record<string, string>
  /** A string is sent as UTF-8; a Buffer as is. */
  readonly body?: string | Buffer
  /** Send the body chunked (no Content-Length). */
  readonly chunked?: boolean
}

export interface RawResponse {
  readonly status: number
  readonly headers: Record<string, string | Array<string> | undefined>
  readonly text: string
  /** The connection failed before a response came (reset, refused). */
  readonly error?: string
}

const agent = new Agent({ keepAlive: true, maxSockets: 8 })

export const send = (base: string, req: RawRequest): Promise<RawResponse> =>
  new Promise((resolve) => {
    const url = new URL(req.path, base)
    const body = req.body === undefined ? undefined : Buffer.isBuffer(req.body) ? req.body : Buffer.from(req.body, "utf8")
    const headers: Record<string, string> = { ...req.headers }
    if (body !== undefined && !req.chunked && !Object.keys(headers).some((h) => h.toLowerCase() === "content-length")) {
      headers["content-length"] = String(body.length)
    }
    const r = httpRequest({ host: url.hostname, port: url.port, path: url.pathname + url.search, method: req.method, headers, agent }, (res) => {
      const chunks: Array<Buffer> = []
      res.on("data", (c: Buffer) => chunks.push(c))
      res.on("end", () => resolve({ status: res.statusCode ?? 0, headers: res.headers, text: Buffer.concat(chunks).toString("utf8") }))
      res.on("error", (e) => resolve({ status: 0, headers: {}, text: "", error: e.message }))
    })
    r.on("error", (e) => resolve({ status: 0, headers: {}, text: "", error: e.message }))
    if (body !== undefined) {
      if (req.chunked) {
        for (let i = 0; i < body.length; i += 65536) r.write(body.subarray(i, i + 65536))
      } else r.write(body)
    }
    r.end()
  })

/** The body as `{_tag, message}`, or undefined when it is not that shape. */
export const errorBody = (response: RawResponse): { readonly _tag: string; readonly message: string } | undefined => {
  try {
    const body = JSON.parse(response.text) as { _tag?: unknown; message?: unknown }
    return typeof body._tag === "string" && typeof body.message === "string" ? { _tag: body._tag, message: body.message } : undefined
  } catch {
    return undefined
  }
}
