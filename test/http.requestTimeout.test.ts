/**
 * The server does not cut a request at Node's default 5 minutes: an NDJSON import streams
 * its body for as long as the records take to store (a million records take longer). Headers
 * still have Node's deadline, so a client that never finishes them is dropped.
 */
import { describe, expect, it } from "vitest"
import * as SearchFastPath from "../src/http/SearchFastPath.ts"

describe("request deadlines", () => {
  it("no whole-request timeout, with and without the fast path; headers within 60 s", () => {
    for (const server of [SearchFastPath.server(undefined), SearchFastPath.server((_request, _response, next) => next(_request))]) {
      expect(server.requestTimeout).toBe(0)
      expect(server.headersTimeout).toBe(60_000)
      server.close()
    }
  })
})
