/**
 * docker-compose.yml is accepted by a Compose validator: `docker compose config`
 * (the Compose plugin) or, where it is absent, `docker-compose config` (Debian's
 * docker-compose package, Compose file format 1.29). No Docker engine is needed.
 */
import { execFileSync, spawnSync } from "node:child_process"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"

const root = fileURLToPath(new URL("..", import.meta.url))

const works = (command: string, args: ReadonlyArray<string>) => {
  try {
    execFileSync(command, [...args], { stdio: "ignore", timeout: 20_000 })
    return true
  } catch {
    return false
  }
}

/** The validator to use, if one is installed. */
const validator: ReadonlyArray<string> | undefined = works("docker", ["compose", "version"])
  ? ["docker", "compose"]
  : works("docker-compose", ["version"])
  ? ["docker-compose"]
  : undefined

const compose = (...args: Array<string>) => {
  const [command, ...prefix] = validator!
  const result = spawnSync(command!, [...prefix, "-f", "docker-compose.yml", ...args], {
    cwd: root,
    encoding: "utf8",
    timeout: 30_000,
    // Never reach for an engine or a registry: validation only.
    env: { ...process.env, DOCKER_HOST: "unix:///nonexistent.sock" }
  })
  return { status: result.status, stdout: result.stdout, stderr: result.stderr }
}

describe.skipIf(validator === undefined)(`docker-compose.yml (${validator?.join(" ") ?? "no validator"})`, () => {
  it("is accepted by the Compose validator", () => {
    const result = compose("config", "--quiet")
    expect(result.stderr.trim(), "validator output").toBe("")
    expect(result.status).toBe(0)
  })

  it("runs postgres, redis, jaeger and the server, wired together", () => {
    const services = compose("config", "--services")
    expect(services.status, services.stderr).toBe(0)
    expect(services.stdout.trim().split("\n").sort()).toEqual(["agent-memory", "jaeger", "postgres", "redis"])
    const resolved = compose("config")
    expect(resolved.status, resolved.stderr).toBe(0)
    // The server exports its spans to Jaeger's OTLP/HTTP receiver, which is enabled.
    expect(resolved.stdout).toMatch(/OTEL_EXPORTER_OTLP_ENDPOINT: http:\/\/jaeger:4318/)
    expect(resolved.stdout).toMatch(/COLLECTOR_OTLP_ENABLED: ['"]?true/)
    expect(resolved.stdout).toMatch(/DATABASE_URL: postgres:\/\/\S+@postgres:5432\//)
  })
})
