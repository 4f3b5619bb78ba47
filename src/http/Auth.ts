/**
 * API keys. With MEMORY_API_KEYS_FILE set, every /v1 request needs
 * `Authorization: Bearer <key>`, and each key may use only its namespaces. The
 * file is JSON mapping keys to a namespace, a list of namespaces, or "*" (an
 * admin key: every namespace, and the cross-tenant routes /v1/stats and /v1/alerts):
 *
 *   { "sk-acme-…": ["acme", "acme-staging"], "sk-admin-…": "*" }
 *
 * Without the file, /v1 is open (bind to loopback). Which namespace a request
 * acts on is decided by TenantNamespace.ts.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { readFile } from "node:fs/promises"
import { HttpApiMiddleware, HttpApiSecurity } from "@effect/platform"
import { Config, ConfigError, Context, Effect, Layer, Option, Redacted, Schema } from "effect"
import { Unauthorized } from "../domain/errors.ts"

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

const digest = (key: string) => createHash("sha256").update(key).digest()

// Key lengths are checked by a filter: a Record silently drops keys its key schema rejects.
const KeysFile = Schema.Record({
  key: Schema.String,
  value: Schema.Union(Schema.Literal("*"), Schema.String, Schema.Array(Schema.String))
}).pipe(Schema.filter((keys) => Object.keys(keys).every((key) => key.length >= 16) || "an API key is at least 16 characters"))

interface KnownKey {
  readonly digest: Buffer
  readonly tenant: TenantShape
}

/** The keys as SHA-256 digests: secrets are never kept or compared as text. */
const loadKeys = (path: string) =>
  Effect.gen(function*() {
    const invalid = (message: string) => ConfigError.InvalidData(["MEMORY_API_KEYS_FILE"], message)
    const text = yield* Effect.tryPromise({ try: () => readFile(path, "utf8"), catch: (e) => invalid(`cannot read ${path}: ${(e as Error).message}`) })
    const json = yield* Effect.try({ try: () => JSON.parse(text) as unknown, catch: (e) => invalid(`${path} is not JSON: ${(e as Error).message}`) })
    const keys = yield* Schema.decodeUnknown(KeysFile)(json).pipe(Effect.mapError((e) => invalid(`${path}: ${e.message}`)))
    const known: Array<KnownKey> = Object.entries(keys).map(([key, value]) => ({
      digest: digest(key),
      tenant: { namespaces: value === "*" ? "all" : new Set(typeof value === "string" ? [value] : value) }
    }))
    if (known.length === 0) return yield* Effect.fail(invalid(`${path} holds no keys`))
    return known
  })

/**
 * The tenant of a presented key. Every known digest is compared, each in
 * constant time, with no early exit: the time taken says nothing about which
 * key, or how much of one, matched.
 */
const findKey = (known: ReadonlyArray<KnownKey>, presented: string): TenantShape | undefined => {
  const candidate = digest(presented)
  let found: TenantShape | undefined
  for (const key of known) {
    if (timingSafeEqual(key.digest, candidate)) found = key.tenant
  }
  return found
}

const everyone: TenantShape = { namespaces: "all" }

export interface ApiKeysShape {
  /** The tenant of a presented key, or undefined when it is not one (with no keys file, everyone). */
  readonly tenantOf: (key: string) => TenantShape | undefined
}

/** The keys of MEMORY_API_KEYS_FILE, loaded once: who may call is decided by `tenantOf` alone. */
export class ApiKeys extends Context.Tag("agent-memory/ApiKeys")<ApiKeys, ApiKeysShape>() {}

export const keysLayer: Layer.Layer<ApiKeys, ConfigError.ConfigError> = Layer.effect(
  ApiKeys,
  Effect.gen(function*() {
    const path = yield* Config.option(Config.string("MEMORY_API_KEYS_FILE"))
    if (Option.isNone(path)) return { tenantOf: () => everyone }
    const keys = yield* loadKeys(path.value)
    return { tenantOf: (key: string) => findKey(keys, key) }
  })
)

/** The key as HttpApi's bearer security reads it from the Authorization header: what follows `Bearer `. */
export const BEARER_PREFIX = "Bearer "

export const layer: Layer.Layer<Authorization, ConfigError.ConfigError> = Layer.effect(
  Authorization,
  Effect.map(ApiKeys, ({ tenantOf }) => ({
    bearer: (token: Redacted.Redacted<string>) => {
      const tenant = tenantOf(Redacted.value(token))
      return tenant
        ? Effect.succeed(tenant)
        : Effect.fail(new Unauthorized({ message: "a valid API key is required: Authorization: Bearer <key>" }))
    }
  }))
).pipe(Layer.provide(keysLayer))
