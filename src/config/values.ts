/** Config readers for value shapes the environment uses: durations such as `30s`, byte sizes such as `256MB`. */
import { Config, ConfigError, Duration, Either } from "effect"

const UNITS: Record<string, number> = {
  ms: 1, millis: 1, s: 1000, sec: 1000, second: 1000, seconds: 1000,
  m: 60_000, min: 60_000, minute: 60_000, minutes: 60_000, h: 3_600_000, hour: 3_600_000, hours: 3_600_000
}

/** `100ms`, `30s`, `5m`, `1h`, `30 seconds`; a bare number is milliseconds. */
export const parseDuration = (text: string): Either.Either<Duration.Duration, string> => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = match ? (match[2] === "" ? 1 : UNITS[match[2]!.toLowerCase()]) : undefined
  return match && unit !== undefined
    ? Either.right(Duration.millis(Number(match[1]) * unit))
    : Either.left(`"${text}" is not a duration (e.g. 500ms, 30s, 5m, 1h)`)
}

export const duration = (name: string, fallback: Duration.DurationInput): Config.Config<Duration.Duration> =>
  Config.string(name).pipe(
    Config.mapOrFail((text) => Either.mapLeft(parseDuration(text), (message) => ConfigError.InvalidData([name], message))),
    Config.withDefault(Duration.decode(fallback))
  )

const BYTE_UNITS: Record<string, number> = { b: 1, kb: 1024, k: 1024, mb: 1024 ** 2, m: 1024 ** 2, gb: 1024 ** 3, g: 1024 ** 3 }

/** `256MB`, `1GB`, `64kb`; a bare number is bytes. */
export const parseBytes = (text: string): Either.Either<number, string> => {
  const match = /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(text)
  const unit = match ? (match[2] === "" ? 1 : BYTE_UNITS[match[2]!.toLowerCase()]) : undefined
  return match && unit !== undefined
    ? Either.right(Math.floor(Number(match[1]) * unit))
    : Either.left(`"${text}" is not a size (e.g. 64MB, 1GB)`)
}

export const bytes = (name: string, fallback: number): Config.Config<number> =>
  Config.string(name).pipe(
    Config.mapOrFail((text) => Either.mapLeft(parseBytes(text), (message) => ConfigError.InvalidData([name], message))),
    Config.withDefault(fallback)
  )

export const positiveInt = (name: string, fallback: number): Config.Config<number> =>
  Config.integer(name).pipe(
    Config.validate({ message: "must be a whole number of 1 or more", validation: (n) => n >= 1 }),
    Config.withDefault(fallback)
  )
