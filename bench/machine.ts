/** The machine a run measured: what a reader needs to compare figures. */
import { readFileSync } from "node:fs"
import { availableParallelism, freemem, loadavg, release, totalmem } from "node:os"
import type { ServerFacts } from "./db.ts"

export interface Machine {
  readonly cpus: number
  readonly cpuModel: string
  readonly memoryGiB: number
  readonly freeMemoryGiB: number
  readonly node: string
  readonly os: string
  /** 1-minute load average before and after the run (other work on the machine shows here). */
  readonly loadBefore: number
  readonly loadAfter: number
  readonly postgres: ServerFacts | undefined
  readonly redis: string | undefined
}

const cpuModel = () => {
  try {
    const line = readFileSync("/proc/cpuinfo", "utf8").split("\n").find((l) => l.startsWith("model name"))
    return line?.split(":")[1]?.trim() ?? "unknown"
  } catch {
    return "unknown"
  }
}

export const describe = (postgres: ServerFacts | undefined): Machine => ({
  cpus: availableParallelism(),
  cpuModel: cpuModel(),
  memoryGiB: totalmem() / 2 ** 30,
  freeMemoryGiB: freemem() / 2 ** 30,
  node: process.version,
  os: `${process.platform} ${release()}`,
  loadBefore: loadavg()[0]!,
  loadAfter: 0,
  postgres,
  redis: undefined
})
