/**
 * API keys. With MEMORY_API_KEYS_FILE set, every /v1 request needs
 * `Authorization: Bearer <key>`, and each key may use only its namespaces. The
 * file is JSON mapping keys to a namespace, a list of namespaces, or "*":
 *
 *   { "sk-acme-…": ["acme", "acme-staging"], "sk-admin-…": "*" }
 *
 * A request that names no namespace works in the key's only namespace, if it
 * has one, else in `default`. Without the file, /v1 is open (bind to loopback).
 */
import { createHash } from "node:crypto"
import { readFile } from "node:fs/promises"
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Config, ConfigError, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { Forbidden, Unauthorized } from "../domain/errors.ts"
import { DEFAULT_NAMESPACE } from "../domain/Memory.ts"

/** What the caller may touch. */
export interface TenantShape {
  readonly namespaces: ReadonlySet<string> | "all"
}

export class Tenant extends Context.Tag("agent-memory/Tenant")<Tenant, TenantShape>() {}

export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("Authorization", {
  failure: Unauthorized,
  provides: Tenant,
  security: { bearer: HttpApiSecurity.bearer }
}) {}

const digest = (key: string) => createHash("sha256").update(key).digest("base64")

// Key lengths are checked by a filter: a Record silently drops keys its key schema rejects.
const KeysFile = Schema.Record({
  key: Schema.String,
  value: Schema.Union(Schema.Literal("*"), Schema.String, Schema.Array(Schema.String))
}).pipe(Schema.filter((keys) => Object.keys(keys).every((key) => key.length >= 16) || "an API key is at least 16 characters"))

/** Keys by their SHA-256, so a lookup never compares secrets character by character. */
const loadKeys = (path: string) =>
  Effect.gen(function*() {
    const invalid = (message: string) => ConfigError.InvalidData(["MEMORY_API_KEYS_FILE"], message)
    const text = yield* Effect.tryPromise({ try: () => readFile(path, "utf8"), catch: (e) => invalid(`cannot read ${path}: ${(e as Error).message}`) })
    const json = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: (e) => invalid(`${path} is not JSON: ${(e as Error).message}`) })
    const keys = yield* Schema.decodeUnknown(KeysFile)(json).pipe(Effect.mapError((e) => invalid(`${path}: ${e.message}`)))
    const byDigest = new Map<string, TenantShape>()
    for (const [key, value] of Object.entries(keys)) {
      byDigest.set(digest(key), { namespaces: value === "*" ? "all" : new Set(typeof value === "string" ? [value] : value) })
    }
    if (byDigest.size === 0) return yield* Effect.fail(invalid(`${path} holds no keys`))
    return byDigest
  })

const everyone: TenantShape = { namespaces: "all" }

export const layer: Layer.Layer<Authorization, ConfigError.ConfigError> = Layer.effect(
  Authorization,
  Effect.gen(function*() {
    const path = yield* Config.option(Config.string("MEMORY_API_KEYS_FILE"))
    if (Option.isNone(path)) return { bearer: () => Effect.succeed(everyone) }
    const keys = yield* loadKeys(path.value)
    return {
      bearer: (token: Redacted.Redacted<string>) => {
        const tenant = keys.get(digest(Redacted.value(token)))
        return tenant
          ? Effect.succeed(tenant)
          : Effect.fail(new Unauthorized({ message: "a valid API key is required: Authorization: Bearer <key>" }))
      }
    }
  })
)

/** The namespace a request works in, checked against the caller's. */
export const namespaceFor = (requested: string | undefined): Effect.Effect<string, Forbidden, Tenant> =>
  Effect.flatMap(Tenant, ({ namespaces }) => {
    const only = namespaces !== "all" && namespaces.size === 1 ? [...namespaces][0]! : undefined
    const namespace = requested ?? only ?? DEFAULT_NAMESPACE
    return namespaces === "all" || namespaces.has(namespace)
      ? Effect.succeed(namespace)
      : Effect.fail(Forbidden.of(namespace))
  })

/** A predicate form, for checking each item of a batch. */
export const allowedNamespaces = Effect.map(Tenant, ({ namespaces }) => (namespace: string) =>
  namespaces === "all" || namespaces.has(namespace))
