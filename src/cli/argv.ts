/**
 * @effect/cli reads a command's options only before its positional arguments;
 * people write `agent-memory search "query" --k 5`. This moves each option (and
 * its value) ahead of the positionals, keeping their order otherwise. It also
 * accepts `--k` for the one-letter option, which @effect/cli spells `-k`.
 */
const FLAGS_WITHOUT_VALUE = new Set(["--json", "--help", "-h", "--version", "--wizard"])

export const optionsFirst = (argv: ReadonlyArray<string>): Array<string> => {
  const [node, script, command, ...rest] = argv
  if (command === undefined || command.startsWith("-")) return [...argv]
  const options: Array<string> = []
  const positionals: Array<string> = []
  for (let i = 0; i < rest.length; i++) {
    const token = rest[i]!
    if (token === "--") {
      positionals.push(...rest.slice(i + 1))
      break
    }
    if (token.startsWith("-") && token !== "-") {
      options.push(/^--[a-z]$/.test(token) ? token.slice(1) : token)
      if (!token.includes("=") && !FLAGS_WITHOUT_VALUE.has(token) && rest[i + 1] !== undefined) options.push(rest[++i]!)
    } else {
      positionals.push(token)
    }
  }
  return [node!, script!, command, ...options, ...positionals]
}
