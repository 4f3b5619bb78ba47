/** A one-line progress bar, drawn only on a terminal (redirected output gets the summary alone). */
export const makeProgress = (label: string, total: number, stream: NodeJS.WriteStream = process.stderr) => {
  const tty = stream.isTTY === true
  const started = Date.now()
  let done = 0
  let last = 0
  const draw = (force = false) => {
    if (!tty || (!force && Date.now() - last < 100)) return
    last = Date.now()
    const width = 30
    const filled = total === 0 ? width : Math.round((done / total) * width)
    const rate = done / Math.max(0.001, (Date.now() - started) / 1000)
    stream.write(`\r${label} [${"#".repeat(filled)}${"-".repeat(width - filled)}] ${done}/${total} (${rate.toFixed(1)}/s)`)
  }
  return {
    advance: (n = 1) => {
      done += n
      draw()
    },
    finish: () => {
      draw(true)
      if (tty) stream.write("\n")
      return (Date.now() - started) / 1000
    }
  }
}
