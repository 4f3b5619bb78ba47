/** Turns whatever stopped start-up into the one line a person reads. */
import { ConfigError } from "effect"

const configMessage = (error: ConfigError.ConfigError): string =>
  ConfigError.reduceWithContext(error, undefined, {
    andCase: (_, left, right) => `${left}; ${right}`,
    orCase: (_, left) => left,
    invalidDataCase: (_, path, message) => `${path.join(".")}: ${message}`,
    // The stock message repeats the name (or, for a redacted value, hides it): say what is wrong instead.
    missingDataCase: (_, path) => `${path.join(".")}: required but not set`,
    sourceUnavailableCase: (_, path, message) => `${path.join(".")}: ${message}`,
    unsupportedCase: (_, path, message) => `${path.join(".")}: ${message}`
  })

export const describeStartupFailure = (error: unknown): string => {
  if (ConfigError.isConfigError(error)) return `configuration: ${configMessage(error)}`
  if (typeof error === "object" && error !== null && "message" in error) {
    const tag = "_tag" in error ? `${String(error._tag)}: ` : ""
    const cause = "cause" in error && error.cause instanceof Error ? ` (${error.cause.message})` : ""
    return `${tag}${String(error.message)}${cause}`
  }
  return String(error)
}
