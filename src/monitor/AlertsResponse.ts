/**
 * GET /v1/alerts: the recent alerts as JSON, or, for `Accept: text/event-stream`,
 * a server-sent event per alert from now on (with a comment every
 * `heartbeat` so that proxies keep the connection open).
 */
import type { HttpServerRequest } from "@effect/platform"
import { HttpServerResponse } from "@effect/platform"
import { Duration, Effect, Schedule, Schema, Stream } from "effect"
import { Alert } from "./Alert.ts"
import type { MonitorService } from "./Monitor.ts"

export const AlertList = Schema.Struct({ alerts: Schema.Array(Alert) })

const encoder = new TextEncoder()
const encodeAlert = Schema.encodeSync(Alert)

/** One `event: alert` per alert, its JSON as data; a `: keep-alive` comment every `heartbeat`. */
export const serverSentEvents = (
  alerts: Stream.Stream<Alert>,
  options: { readonly heartbeat?: Duration.DurationInput | undefined } = {}
): Stream.Stream<Uint8Array> => {
  let id = 0
  const events = Stream.map(alerts, (alert) => `id: ${++id}\nevent: alert\ndata: ${JSON.stringify(encodeAlert(alert))}\n\n`)
  const heartbeats = Stream.fromSchedule(Schedule.spaced(options.heartbeat ?? Duration.seconds(15))).pipe(
    Stream.as(": keep-alive\n\n")
  )
  // The first bytes go out at once, so a client knows it is connected.
  return Stream.succeed(": connected\n\n").pipe(
    Stream.concat(Stream.merge(events, heartbeats, { haltStrategy: "left" })),
    Stream.map((text) => encoder.encode(text))
  )
}

export const wantsEventStream = (request: HttpServerRequest.HttpServerRequest) =>
  (request.headers["accept"] ?? "").toLowerCase().includes("text/event-stream")

/** The response for GET /v1/alerts. */
export const respond = (monitor: MonitorService, request: HttpServerRequest.HttpServerRequest) =>
  wantsEventStream(request)
    ? Effect.succeed(
      HttpServerResponse.stream(serverSentEvents(monitor.alerts), {
        contentType: "text/event-stream",
        headers: { "cache-control": "no-cache", "x-accel-buffering": "no" }
      })
    )
    : Effect.flatMap(monitor.recent, (alerts) => HttpServerResponse.schemaJson(AlertList)({ alerts })).pipe(Effect.orDie)
