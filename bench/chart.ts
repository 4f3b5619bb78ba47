/** The run as an SVG of grouped bar charts (ingest rows/s, search queries/s, HTTP requests/s); hand-rolled, no dependencies. */
import type { Results } from "./results.ts"

interface Series {
  readonly name: string
  readonly color: string
}

interface Group {
  readonly label: string
  readonly sublabel?: string | undefined
  /** One value per series (undefined: no bar). */
  readonly values: ReadonlyArray<number | undefined>
  readonly notes?: ReadonlyArray<string | undefined> | undefined
}

interface Panel {
  readonly title: string
  readonly series: ReadonlyArray<Series>
  readonly groups: ReadonlyArray<Group>
}

const WIDTH = 900
const PANEL_HEIGHT = 250
const MARGIN_LEFT = 60
const MARGIN_RIGHT = 20

const esc = (s: string) => s.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;")
const short = (x: number) => {
  if (x < 1000) return x.toFixed(0)
  const k = x / 1000
  return `${Number.isInteger(k) || k >= 100 ? k.toFixed(0) : k >= 10 ? k.toFixed(1).replace(/\.0$/, "") : k.toFixed(2).replace(/0$/, "").replace(/\.0$/, "")}k`
}

/** A round grid step (1, 2, 2.5 or 5 × 10^n) so that four steps reach past the largest value. */
const niceStep = (max: number) => {
  const raw = Math.max(1, max) / 4
  const p = Math.pow(10, Math.floor(Math.log10(raw)))
  return [1, 2, 2.5, 5, 10].map((m) => m * p).find((v) => v >= raw) ?? 10 * p
}

/** One panel in the box [x, x + width) × [top, top + PANEL_HEIGHT). */
const panel = (p: Panel, top: number, x: number, width: number): string => {
  const out: Array<string> = []
  const LEFT = x + MARGIN_LEFT
  const RIGHT_EDGE = x + width - MARGIN_RIGHT
  const plotTop = top + 44
  const plotHeight = PANEL_HEIGHT - 44 - 46
  const plotWidth = RIGHT_EDGE - LEFT
  const step = niceStep(Math.max(1, ...p.groups.flatMap((g) => g.values.filter((v): v is number => v !== undefined))))
  const max = step * 4
  const y = (v: number) => plotTop + plotHeight - (v / max) * plotHeight
  out.push(`<text x="${LEFT}" y="${top + 18}" class="title">${esc(p.title)}</text>`)
  // Legend
  let lx = LEFT
  for (const s of p.series) {
    out.push(`<rect x="${lx}" y="${top + 27}" width="10" height="10" fill="${s.color}"/><text x="${lx + 14}" y="${top + 36}" class="small">${esc(s.name)}</text>`)
    lx += 22 + s.name.length * 5.6
  }
  // Axis and grid
  for (let i = 0; i <= 4; i++) {
    const v = step * i
    out.push(`<line x1="${LEFT}" x2="${RIGHT_EDGE}" y1="${y(v)}" y2="${y(v)}" class="grid"/><text x="${LEFT - 6}" y="${y(v) + 4}" class="small" text-anchor="end">${short(v)}</text>`)
  }
  const groupWidth = plotWidth / Math.max(1, p.groups.length)
  const barWidth = Math.min(46, (groupWidth - 24) / Math.max(1, p.series.length))
  p.groups.forEach((g, gi) => {
    const gx = LEFT + gi * groupWidth + (groupWidth - barWidth * p.series.length) / 2
    g.values.forEach((v, si) => {
      if (v === undefined) return
      const x = gx + si * barWidth
      out.push(`<rect x="${x + 2}" y="${y(v)}" width="${barWidth - 4}" height="${plotTop + plotHeight - y(v)}" fill="${p.series[si]!.color}"/>`)
      out.push(`<text x="${x + barWidth / 2}" y="${y(v) - 4}" class="value" text-anchor="middle">${short(v)}</text>`)
      const note = g.notes?.[si]
      if (note) out.push(`<text x="${x + barWidth / 2}" y="${y(v) - 15}" class="small" text-anchor="middle">${esc(note)}</text>`)
    })
    const cx = LEFT + gi * groupWidth + groupWidth / 2
    out.push(`<text x="${cx}" y="${plotTop + plotHeight + 16}" class="label" text-anchor="middle">${esc(g.label)}</text>`)
    if (g.sublabel) out.push(`<text x="${cx}" y="${plotTop + plotHeight + 31}" class="small" text-anchor="middle">${esc(g.sublabel)}</text>`)
  })
  out.push(`<line x1="${LEFT}" x2="${RIGHT_EDGE}" y1="${plotTop + plotHeight}" y2="${plotTop + plotHeight}" class="axis"/>`)
  return out.join("\n")
}

const COLORS = { am: "#2b6cb0", am2: "#63b3ed", other: "#dd6b20", other2: "#f6ad55", ceiling: "#718096", ceiling2: "#a0aec0" }

/** Panels in rows: a row holds one full-width panel or two half-width ones. */
type Row = ReadonlyArray<Panel>

export const svg = (r: Results): string => {
  const rows: Array<Row> = []
  if (r.ingest) {
    const best = (phase: string, system: string) =>
      r.ingest!.figures.filter((f) => f.phase === phase && f.system === system).reduce<number | undefined>((b, f) => Math.max(b ?? 0, f.rowsPerSecond), undefined)
    const series = [
      { name: "agent-memory", color: COLORS.am },
      { name: "over HTTP", color: COLORS.am2 },
      { name: "LangChain.js", color: COLORS.other },
      { name: "binary COPY (ceiling)", color: COLORS.ceiling }
    ]
    const ingestPanel = (phase: string, title: string): Panel => ({
      title,
      series,
      groups: [{ label: "rows/s", sublabel: "best run of each", values: [best(phase, "agent-memory"), best(phase, "agent-memory-http"), best(phase, "langchain"), best(phase, "copy")] }]
    })
    const row = [ingestPanel("no-index", `Ingest ${r.dataset.rows.toLocaleString("en-US")} rows, no vector index`)]
    if (r.ingest.figures.some((f) => f.phase === "live-index")) row.push(ingestPanel("live-index", "Ingest into a live HNSW index"))
    rows.push(row)
  }
  if (r.search) {
    const s = r.search
    const efs = [...new Set(s.figures.map((f) => f.ef))]
    const clients = [...new Set(s.figures.map((f) => f.clients))]
    const series: Array<Series> = []
    const pick: Array<{ system: string; clients: number }> = []
    for (const c of clients) {
      series.push({ name: `agent-memory, ${c} client${c > 1 ? "s" : ""}`, color: c === clients[0] ? COLORS.am : COLORS.am2 })
      pick.push({ system: "agent-memory", clients: c })
      series.push({ name: `raw SQL, ${c} client${c > 1 ? "s" : ""}`, color: c === clients[0] ? COLORS.ceiling : COLORS.ceiling2 })
      pick.push({ system: "raw-sql", clients: c })
      if (s.figures.some((f) => f.system === "langchain")) {
        series.push({ name: `LangChain.js, ${c} client${c > 1 ? "s" : ""}`, color: c === clients[0] ? COLORS.other : COLORS.other2 })
        pick.push({ system: "langchain", clients: c })
      }
    }
    rows.push([{
      title: `Search: queries/s by ef_search, recall@${r.options.k} below (caches off)`,
      series,
      groups: efs.map((ef) => ({
        label: `ef_search ${ef}`,
        sublabel: `recall ${s.figures.find((f) => f.ef === ef)?.recall.toFixed(3) ?? "?"}`,
        values: pick.map((p) => s.figures.find((f) => f.ef === ef && f.system === p.system && f.clients === p.clients)?.queriesPerSecond)
      }))
    }])
  }
  const last: Array<Panel> = []
  if (r.http && r.http.length > 0) {
    last.push({
      title: "HTTP POST /v1/search, requests/s",
      series: [{ name: "server process vs autocannon, loopback", color: COLORS.am }],
      groups: r.http.map((h) => ({ label: h.run, sublabel: `p99 ${h.latency.p99Ms.toFixed(1)} ms`, values: [h.requestsPerSecond] }))
    })
  }
  if (r.cache) {
    const c = r.cache
    const groups: Array<Group> = [
      { label: "miss", sublabel: "embed + HNSW", values: [c.miss.meanMs * 1000] },
      { label: "hit", sublabel: `${c.ratio.toFixed(0)}× cheaper`, values: [c.hit.meanMs * 1000] }
    ]
    if (c.hitWithRedis) groups.push({ label: "hit, Redis", sublabel: "L1 + generation", values: [c.hitWithRedis.meanMs * 1000] })
    if (c.l2Hit) groups.push({ label: "L2 hit", sublabel: "cold L1", values: [c.l2Hit.meanMs * 1000] })
    last.push({ title: "Cost of one search, µs (mean)", series: [{ name: "Memory.search", color: COLORS.am2 }], groups })
  }
  if (last.length > 0) rows.push(last)

  const height = rows.length * PANEL_HEIGHT + 40
  const m = r.machine
  const footer = `${r.command} · ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB.toFixed(0)} GiB · PostgreSQL ${m.postgres?.version ?? "—"}, pgvector ${m.postgres?.pgvector ?? "—"} · ${r.startedAt}`
  const drawn = rows.flatMap((row, i) => {
    const width = WIDTH / row.length
    return row.map((p, j) => panel(p, 10 + i * PANEL_HEIGHT, j * width, width))
  })
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif">`,
    `<style>.title{font-size:14px;font-weight:600;fill:#1a202c}.label{font-size:12px;fill:#2d3748}.small{font-size:10px;fill:#4a5568}.value{font-size:10px;fill:#1a202c}.grid{stroke:#edf2f7}.axis{stroke:#a0aec0}</style>`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    ...drawn,
    `<text x="${MARGIN_LEFT}" y="${height - 12}" class="small">${esc(footer)}</text>`,
    `</svg>`,
    ""
  ].join("\n")
}
