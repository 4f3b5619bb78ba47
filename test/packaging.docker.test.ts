/**
 * The image without an engine: the build stage's COPY lines are copied into a
 * temporary directory and built there (its RUN npm run build), the runtime stage's
 * COPY lines (the build's output among them) into another, and the server is
 * started with the Dockerfile's CMD and answers /health. A folder the Dockerfile
 * forgets to copy fails here. node_modules is the repository's (linked), not a fresh install.
 */
import { execFile, spawn } from "node:child_process"
import { cpSync, mkdirSync, mkdtempSync, readFileSync, symlinkSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { freePort } from "./support/process.ts"

const root = fileURLToPath(new URL("..", import.meta.url))

interface Stage {
  readonly name: string | undefined
  readonly copies: Array<{ readonly from: string | undefined; readonly sources: Array<string>; readonly dest: string }>
  readonly runs: Array<string>
  cmd: Array<string> | undefined
  workdir: string
}

const parse = (text: string): Array<Stage> => {
  const stages: Array<Stage> = []
  for (const line of text.split("\n").map((l) => l.trim()).filter((l) => l && !l.startsWith("#"))) {
    const [op, ...rest] = line.split(/\s+/)
    const stage = stages[stages.length - 1]
    if (op === "FROM") stages.push({ name: /\bAS\s+(\S+)/i.exec(line)?.[1], copies: [], runs: [], cmd: undefined, workdir: "/" })
    else if (op === "WORKDIR") stage!.workdir = rest[0]!
    else if (op === "COPY") {
      const from = rest.find((a) => a.startsWith("--from="))?.slice("--from=".length)
      const args = rest.filter((a) => !a.startsWith("--"))
      stage!.copies.push({ from, sources: args.slice(0, -1), dest: args[args.length - 1]! })
    } else if (op === "RUN") stage!.runs.push(rest.join(" "))
    else if (op === "CMD") stage!.cmd = JSON.parse(rest.join(" ")) as Array<string>
  }
  return stages
}

/** Copies a stage's COPY lines into `dir` (the image's WORKDIR), from the context or an earlier stage's dir. */
const copyInto = (stage: Stage, dir: string, stageDirs: Map<string, { dir: string; workdir: string }>) => {
  for (const copy of stage.copies) {
    for (const source of copy.sources) {
      const other = copy.from === undefined ? undefined : stageDirs.get(copy.from)
      const from = other ? join(other.dir, source.replace(other.workdir, "")) : join(root, source)
      const dest = copy.dest.endsWith("/") || copy.sources.length > 1 ? join(dir, copy.dest, source.split("/").pop()!) : join(dir, copy.dest)
      cpSync(from, dest, { recursive: true })
    }
  }
}

const sh = (command: string, cwd: string) =>
  new Promise<{ code: number; output: string }>((resolve) =>
    execFile("sh", ["-c", command], { cwd, timeout: 300_000 }, (error, stdout, stderr) => resolve({ code: error ? 1 : 0, output: stdout + stderr })))

describe("Dockerfile", () => {
  it("starts the server from exactly the files it copies", async () => {
    const stages = parse(readFileSync(join(root, "Dockerfile"), "utf8"))
    expect(stages.length).toBe(2)
    const [build, runtime] = stages as [Stage, Stage]
    const stageDirs = new Map<string, { dir: string; workdir: string }>()

    const buildDir = mkdtempSync(join(tmpdir(), "agent-memory-image-build-"))
    copyInto(build, buildDir, stageDirs)
    symlinkSync(join(root, "node_modules"), join(buildDir, "node_modules"))
    for (const command of build.runs.filter((r) => !r.startsWith("npm ci"))) {
      const result = await sh(command, buildDir)
      expect(result.code, `${command}\n${result.output}`).toBe(0)
    }
    stageDirs.set(build.name!, { dir: buildDir, workdir: `${build.workdir}/` })

    const appDir = mkdtempSync(join(tmpdir(), "agent-memory-image-"))
    mkdirSync(appDir, { recursive: true })
    copyInto(runtime, appDir, stageDirs)
    symlinkSync(join(root, "node_modules"), join(appDir, "node_modules"))
    const [command, ...args] = runtime.cmd!
    expect(command).toBe("node")

    const port = await Effect.runPromise(freePort)
    const child = spawn(process.execPath, args, {
      cwd: appDir,
      env: { ...process.env, HOST: "127.0.0.1", PORT: String(port), MEMORY_STORE: "memory", NODE_ENV: "production" },
      stdio: ["ignore", "pipe", "pipe"]
    })
    let output = ""
    child.stdout.on("data", (d) => (output += d))
    child.stderr.on("data", (d) => (output += d))
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const check = setInterval(() => {
          const m = /Listening on (http:\/\/\S+)/.exec(output)
          if (m) {
            clearInterval(check)
            resolve(m[1]!)
          }
        }, 100)
        child.on("exit", (code) => {
          clearInterval(check)
          reject(new Error(`exited with ${code}:\n${output}`))
        })
      })
      const health = await fetch(`${url}/health`)
      expect(health.status).toBe(200)
    } finally {
      child.kill("SIGTERM")
    }
  }, 300_000)
})
