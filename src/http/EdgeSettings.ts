/**
 * What the HTTP edge refuses before a handler runs, from configuration:
 * body size (MEMORY_MAX_BODY), cross-origin callers (MEMORY_CORS_ORIGINS),
 * Host names (HOST plus MEMORY_ALLOWED_HOSTS; skipped when API keys are in
 * force) and the shutdown grace (MEMORY_SHUTDOWN_GRACE).
 */
import { Config, Context, Duration, Layer, Option } from "effect"
import { bytes, duration } from "../config/values.ts"

export interface EdgeSettingsShape {
  /** Bytes of a JSON body, and of one NDJSON line on the batch route. */
  readonly maxBody: number
  /** Origins (scheme://host[:port]) allowed to call cross-origin; same-origin calls always pass. */
  readonly corsOrigins: ReadonlySet<string>
  /** Host names (no port) the server answers to; `undefined` when the check is off. */
  readonly allowedHosts: ReadonlySet<string> | undefined
  /** How long in-flight requests may run after SIGTERM. */
  readonly shutdownGrace: Duration.Duration
}

export class EdgeSettings extends Context.Tag("agent-memory/EdgeSettings")<EdgeSettings, EdgeSettingsShape>() {}

export const DEFAULT_MAX_BODY = 4 * 1024 * 1024

const list = (name: string) =>
  Config.string(name).pipe(
    Config.withDefault(""),
    Config.map((text) => text.split(",").map((s) => s.trim()).filter((s) => s.length > 0))
  )

// A wildcard bind has no name of its own to check against: only loopback names and the configured ones.
const WILDCARD = new Set(["0.0.0.0", "::", "[::]"])
const LOOPBACK = ["localhost", "127.0.0.1", "[::1]", "::1"]

export const config: Config.Config<EdgeSettingsShape> = Config.all({
  maxBody: bytes("MEMORY_MAX_BODY", DEFAULT_MAX_BODY),
  corsOrigins: list("MEMORY_CORS_ORIGINS"),
  allowedHosts: list("MEMORY_ALLOWED_HOSTS"),
  host: Config.string("HOST").pipe(Config.withDefault("127.0.0.1")),
  keys: Config.option(Config.string("MEMORY_API_KEYS_FILE")),
  shutdownGrace: duration("MEMORY_SHUTDOWN_GRACE", "10 seconds")
}).pipe(
  Config.map(({ allowedHosts, corsOrigins, host, keys, maxBody, shutdownGrace }) => ({
    maxBody,
    shutdownGrace,
    corsOrigins: new Set(corsOrigins.map((o) => o.replace(/\/+$/, "").toLowerCase())),
    // With keys in force a rebound name gains nothing: every /v1 call needs a key.
    allowedHosts: Option.isSome(keys)
      ? undefined
      : new Set([...LOOPBACK, ...(WILDCARD.has(host) ? [] : [host]), ...allowedHosts].map((h) => h.toLowerCase()))
  }))
)

export const layer = (overrides: Partial<EdgeSettingsShape> = {}) =>
  Layer.effect(EdgeSettings, Config.map(config, (fromEnv) => ({ ...fromEnv, ...overrides })))
