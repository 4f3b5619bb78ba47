/**
 * Which namespace a request acts on, decided here and nowhere else: the
 * namespace the request names (in the body for routes with a JSON body, in
 * `?namespace=` for the others and for NDJSON batches; the other place is a
 * 400 from the route's strict schemas), else the caller's only namespace when
 * its key has exactly one, else `default`; then checked against the caller's key.
 */
import { Effect, Either } from "effect"
import { Forbidden } from "../domain/errors.ts"
import { DEFAULT_NAMESPACE } from "../domain/Memory.ts"
import { Tenant, type TenantShape } from "./Auth.ts"

const allows = ({ namespaces }: TenantShape, namespace: string) => namespaces === "all" || namespaces.has(namespace)

/** The namespace a caller acts on, or the Forbidden it is refused with: the decision, as a plain function. */
export const decideNamespace = (tenant: TenantShape, requested: string | undefined): Either.Either<string, Forbidden> => {
  const only = tenant.namespaces !== "all" && tenant.namespaces.size === 1 ? [...tenant.namespaces][0]! : undefined
  const namespace = requested ?? only ?? DEFAULT_NAMESPACE
  return allows(tenant, namespace) ? Either.right(namespace) : Either.left(Forbidden.of(namespace))
}

export const resolveNamespace = (requested: string | undefined): Effect.Effect<string, Forbidden, Tenant> =>
  Effect.flatMap(Tenant, (tenant) => decideNamespace(tenant, requested))

/** The same check as a predicate, for each item of a batch (an item may name its own namespace). */
export const namespaceAllowed: Effect.Effect<(namespace: string) => boolean, never, Tenant> = Effect.map(
  Tenant,
  (tenant) => (namespace: string) => allows(tenant, namespace)
)

/** Cross-tenant routes (process statistics, alerts) need a key for every namespace ("*"), or no keys at all. */
export const requireAdmin: Effect.Effect<void, Forbidden, Tenant> = Effect.flatMap(Tenant, ({ namespaces }) =>
  namespaces === "all"
    ? Effect.void
    : Effect.fail(new Forbidden({ message: "this route shows every tenant's figures: it needs an admin key (\"*\")" })))
