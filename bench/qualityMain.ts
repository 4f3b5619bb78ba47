/** `npm run bench -- quality`: the labelled-set run on its own (bench/quality.ts). */
import { Effect } from "effect"
import { qualityScenario } from "./quality.ts"

export const runQuality = (argv: ReadonlyArray<string>) => {
  const flag = (name: string) => {
    const at = argv.indexOf(`--${name}`)
    return at >= 0 ? argv[at + 1] : undefined
  }
  const seed = flag("seed")
  const stores = flag("stores")
  return qualityScenario({
    url: process.env["DATABASE_URL"],
    log: (line) => console.log(line),
    seed: seed === undefined ? undefined : Number(seed),
    stores: stores === undefined ? undefined : stores.split(",")
  }).pipe(Effect.asVoid, Effect.orDie)
}
