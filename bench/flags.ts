/** The value after `--name` in a command line (`--rows 5000` → "5000"), or undefined. */
export const flagValue = (argv: ReadonlyArray<string>, name: string): string | undefined => {
  const at = argv.indexOf(`--${name}`)
  return at >= 0 ? argv[at + 1] : undefined
}
