/** The run's figures as tables (stdout and summary.md share them) and the goals judged against them. */
import { ingestNote } from "./keyword.ts"
import type { Goal, Results } from "./results.ts"
import { table } from "./stats.ts"
import * as Stack from "./stack.ts"

export interface Section {
  readonly title: string
  readonly headers: ReadonlyArray<string>
  readonly rows: ReadonlyArray<ReadonlyArray<string>>
  readonly note?: string | undefined
}

const n0 = (x: number) => Math.round(x).toLocaleString("en-US")
const ms = (x: number) => (x < 0.1 ? `${(x * 1000).toFixed(1)} µs` : `${x.toFixed(2)} ms`)
const times = (x: number | undefined) => (x === undefined ? "—" : `${x.toFixed(2)}×`)
const pct = (x: number) => `${(x * 100).toFixed(0)}%`
const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MiB`

export const goals = (r: Results): ReadonlyArray<Goal> => {
  const out: Array<Goal> = []
  const ef = r.options.defaultEf
  if (r.ingest) {
    out.push({
      goal: "ingest, table without its vector index: agent-memory vs LangChain.js PGVectorStore",
      target: "≥ 5×",
      measured: times(r.ingest.vsLangchain),
      met: r.ingest.vsLangchain === undefined ? undefined : r.ingest.vsLangchain >= 5
    })
    out.push({
      goal: "ingest, live HNSW index: agent-memory vs raw binary COPY",
      target: "≥ 0.9×",
      measured: times(r.ingest.vsCopy.liveIndex),
      met: r.ingest.vsCopy.liveIndex === undefined ? undefined : r.ingest.vsCopy.liveIndex >= 0.9
    })
    const d = r.ingest.atDefaults
    if (d) {
      out.push(
        { goal: "ingest at the default batch settings, no vector index: agent-memory vs raw binary COPY", target: "≥ 0.9×", measured: times(d.vsCopy.noIndex), met: d.vsCopy.noIndex === undefined ? undefined : d.vsCopy.noIndex >= 0.9 },
        { goal: "ingest at the default batch settings, live HNSW index: agent-memory vs raw binary COPY", target: "≥ 0.9×", measured: times(d.vsCopy.liveIndex), met: d.vsCopy.liveIndex === undefined ? undefined : d.vsCopy.liveIndex >= 0.9 },
        { goal: "ingest at the default batch settings, no vector index: agent-memory vs LangChain.js PGVectorStore", target: "≥ 5×", measured: times(d.vsLangchain), met: d.vsLangchain === undefined ? undefined : d.vsLangchain >= 5 }
      )
    }
  }
  if (r.search) {
    const am = r.search.figures.filter((f) => f.system === "agent-memory" && f.ef === ef)
    const recall = am[0]?.recall
    out.push({ goal: `recall@${r.options.k} at the default ef_search (${ef})`, target: "≥ 0.95", measured: recall === undefined ? "—" : recall.toFixed(3), met: recall === undefined ? undefined : recall >= 0.95 })
    const ratios = r.search.overhead.filter((o) => o.ef === ef)
    const worst = ratios.length > 0 ? Math.min(...ratios.map((o) => o.ratio)) : undefined
    out.push({
      goal: `queries/s through the Memory service vs raw SQL (ef ${ef}, ${ratios.map((o) => `${o.clients} client${o.clients > 1 ? "s" : ""}`).join(" and ")})`,
      target: "≥ 0.90×",
      measured: ratios.map((o) => times(o.ratio)).join(" / ") || "—",
      met: worst === undefined ? undefined : worst >= 0.9
    })
    // Issue 14, item 3: "ahead of LangChain.js" (its similaritySearch over its own table, the same pool size).
    const peer = (r.search.vsLangchain ?? []).filter((o) => o.ef === ef)
    if (peer.length > 0) {
      out.push({
        goal: `queries/s through the Memory service vs LangChain.js similaritySearch (ef ${ef}, ${peer.map((o) => `${o.clients} client${o.clients > 1 ? "s" : ""}`).join(" and ")})`,
        target: "≥ 1×",
        measured: peer.map((o) => times(o.ratio)).join(" / "),
        met: Math.min(...peer.map((o) => o.ratio)) >= 1
      })
    }
  }
  if (r.cache) {
    out.push({ goal: "a search-cache hit against a miss (mean cost)", target: "≥ 100× cheaper", measured: `${r.cache.ratio.toFixed(0)}×`, met: r.cache.ratio >= 100 })
  }
  // The goal's figure is the server's own: pinned to a core, autocannon on the other (when measured).
  const hit = r.http?.find((h) => h.run === "cache-hit-pinned") ?? r.http?.find((h) => h.run === "cache-hit")
  if (hit) {
    out.push({
      goal: `HTTP POST /v1/search, cache hits${hit.run === "cache-hit-pinned" ? " (the server on a core of its own)" : ""}`,
      target: "≥ 5,000 req/s, p99 < 10 ms",
      measured: `${n0(hit.requestsPerSecond)} req/s, p99 ${ms(hit.latency.p99Ms)}`,
      met: hit.requestsPerSecond >= 5000 && hit.latency.p99Ms < 10 && hit.failed === 0
    })
  }
  if (r.filtered) {
    out.push({
      goal: "filtered searches return k results when k exist",
      target: "100% at 1% and 10%",
      measured: r.filtered.filter((f) => f.system === "agent-memory").map((f) => `${f.selectivity}: ${pct(f.fullAnswers)}`).join(", "),
      met: r.filtered.filter((f) => f.system === "agent-memory").every((f) => f.fullAnswers === 1)
    })
  }
  if (r.keyword) {
    // Issue 14, item 1: keyword and hybrid p50 within 2× of vector search, at each size, on both stores.
    for (const rows of [...new Set(r.keyword.figures.map((f) => f.rows))]) {
      const at = r.keyword.figures.filter((f) => f.rows === rows && f.mode !== "vector")
      const stores = [...new Set(at.map((f) => f.store))]
      out.push({
        goal: `keyword and hybrid search p50 vs vector search, ${n0(rows)} records of text (${stores.join(" and ")})`,
        target: "≤ 2×",
        measured: stores.map((store) => `${store} ${at.filter((f) => f.store === store).map((f) => `${f.mode} ${times(f.vsVector)}`).join(", ")}`).join("; "),
        met: at.every((f) => f.vsVector <= 2)
      })
    }
  }
  return out
}

const workersNote = (http: NonNullable<Results["http"]>) => {
  const one = http.find((h) => h.run === "cache-hit-redis")
  const two = http.find((h) => h.run === "cache-hit-2-workers")
  if (!one || !two) return undefined
  return `With the Redis L2 (which MEMORY_WORKERS needs): one process ${n0(one.requestsPerSecond)} req/s, MEMORY_WORKERS=2 ${n0(two.requestsPerSecond)} req/s ` +
    `(${times(two.requestsPerSecond / one.requestsPerSecond)}), both with autocannon on the same two cores.`
}

export const sections = (r: Results): ReadonlyArray<Section> => {
  const out: Array<Section> = []
  if (r.ingest) {
    const ing = r.ingest
    out.push({
      title: `Ingest: ${n0(r.dataset.rows)} rows × ${r.dataset.dims} dims`,
      headers: ["table", "system", "how", "rows/s", "seconds"],
      rows: ing.figures.map((f) => [f.phase === "no-index" ? "no vector index" : "live HNSW index", f.system, f.detail, n0(f.rowsPerSecond), f.seconds.toFixed(1)]),
      note: `agent-memory vs best LangChain (no index): ${times(ing.vsLangchain)}; vs best COPY: ${times(ing.vsCopy.noIndex)} (no index), ${times(ing.vsCopy.liveIndex)} (live HNSW). ` +
        (ing.overHttp
          ? `Over HTTP (agent-memory-http: the server process, NDJSON, default batch settings, no index) vs in process at the defaults: ${times(ing.overHttp.vsInProcess)}; vs best COPY: ${times(ing.overHttp.vsCopy)}. `
          : "") +
        `Table ${mib(ing.tableBytes.table)}, its indexes ${mib(ing.tableBytes.indexes)}.`
    })
    out.push({
      title: `HNSW index build after the load (${Stack.HNSW_LABEL})`,
      headers: ["how", "seconds", "index size"],
      rows: ing.indexBuilds.map((b) => [b.how, b.seconds.toFixed(1), mib(b.indexBytes)])
    })
  }
  if (r.search) {
    const efs = [...new Set(r.search.figures.map((f) => f.ef))]
    const clients = [...new Set(r.search.figures.map((f) => f.clients))]
    const withLangchain = r.search.figures.some((f) => f.system === "langchain")
    const rows: Array<Array<string>> = []
    for (const ef of efs) {
      for (const c of clients) {
        const of = (system: string) => r.search!.figures.find((f) => f.system === system && f.ef === ef && f.clients === c)
        const am = of("agent-memory")
        const raw = of("raw-sql")
        const lc = of("langchain")
        if (!am || !raw) continue
        const row = [String(ef), String(c), am.recall.toFixed(3), n0(am.queriesPerSecond), ms(am.latency.p50Ms), ms(am.latency.p95Ms), ms(am.latency.p99Ms), n0(raw.queriesPerSecond), ms(raw.latency.p50Ms), ms(raw.latency.p99Ms), times(am.queriesPerSecond / raw.queriesPerSecond)]
        if (withLangchain) {
          row.push(...(lc ? [lc.recall.toFixed(3), n0(lc.queriesPerSecond), ms(lc.latency.p50Ms), ms(lc.latency.p99Ms), times(am.queriesPerSecond / lc.queriesPerSecond)] : ["—", "—", "—", "—", "—"]))
        }
        rows.push(row)
      }
    }
    const lcTable = r.search.langchainTable
    out.push({
      title: `Search: recall@${r.options.k} and latency, agent-memory (Memory.search, caches off) vs the same SQL by pg` +
        (withLangchain ? " and LangChain.js PGVectorStore (similaritySearch)" : ""),
      headers: [
        "ef_search", "clients", "recall", "agent-memory q/s", "p50", "p95", "p99", "raw SQL q/s", "raw p50", "raw p99", "vs raw SQL",
        ...(withLangchain ? ["LangChain recall", "LangChain q/s", "LC p50", "LC p99", "vs LangChain"] : [])
      ],
      rows,
      note: lcTable
        ? `LangChain's own table of the same rows: loaded in ${lcTable.loadSeconds.toFixed(1)} s, its HNSW index (createHnswIndex, ${Stack.HNSW_LABEL}) built and ANALYZEd in ${lcTable.indexSeconds.toFixed(1)} s; same ef_search, pool size and clients.`
        : undefined
    })
  }
  if (r.filtered) {
    out.push({
      title: `Filtered search (metadata equality, ef_search ${r.options.defaultEf})`,
      headers: ["selectivity", "system", "queries", "recall", "k results", "q/s (1 client)", "p50", "p99", "plan"],
      rows: r.filtered.map((f) => [f.selectivity, f.system === "agent-memory" ? "agent-memory" : "raw SQL, filter first (exact)", String(f.queries), f.recall.toFixed(3), pct(f.fullAnswers), n0(f.queriesPerSecond), ms(f.latency.p50Ms), ms(f.latency.p99Ms), f.plan])
    })
  }
  if (r.cache) {
    const c = r.cache
    const rows = [
      ["miss: embed (precomputed) + HNSW search", ms(c.miss.meanMs), ms(c.miss.p50Ms), ms(c.miss.p99Ms)],
      ["miss: local hashing embedder + HNSW search", ms(c.missLocalEmbedder.meanMs), ms(c.missLocalEmbedder.p50Ms), ms(c.missLocalEmbedder.p99Ms)],
      ["hit: in-process cache", ms(c.hit.meanMs), ms(c.hit.p50Ms), ms(c.hit.p99Ms)]
    ]
    if (c.hitWithRedis) rows.push(["hit with Redis: L1 (generation read from Redis)", ms(c.hitWithRedis.meanMs), ms(c.hitWithRedis.p50Ms), ms(c.hitWithRedis.p99Ms)])
    if (c.l2Hit) rows.push(["hit with Redis: cold L1, answered by L2", ms(c.l2Hit.meanMs), ms(c.l2Hit.p50Ms), ms(c.l2Hit.p99Ms)])
    out.push({
      title: "Caches: cost of a search",
      headers: ["search", "mean", "p50", "p99"],
      rows,
      note: `A hit is ${c.ratio.toFixed(0)}× cheaper than a miss (mean; ${c.ratioP50.toFixed(0)}× at p50). ` +
        `Skewed stream of ${n0(c.skewed.searches)} searches over ${c.skewed.distinct} distinct queries: ${n0(c.skewed.embeddingRequests)} embedding requests and ${n0(c.skewed.storeSearches)} store searches ` +
        `(${pct(1 - c.skewed.embeddingRequests / c.skewed.searches)} of embedding requests saved; ${n0(c.skewed.embeddingRequestsEmbeddingCacheOnly)} requests with only the embedding cache on). ` +
        `Re-ingesting ${n0(c.reingest.texts)} texts into another namespace: ${n0(c.reingest.embedded)} embedded.`
    })
  }
  if (r.http) {
    out.push({
      title: "HTTP: POST /v1/search on loopback (server process vs autocannon; pinned: server on core 1, autocannon on core 0)",
      headers: ["run", "cores", "connections", "req/s", "p50", "p95", "p99", "server CPU a request", "failed"],
      rows: r.http.map((h) => [
        h.run,
        h.run === "cache-hit-pinned" ? "1 + 1" : "2 shared",
        String(h.connections),
        n0(h.requestsPerSecond),
        ms(h.latency.p50Ms),
        ms(h.latency.p95Ms),
        ms(h.latency.p99Ms),
        h.serverCpuUs === undefined ? "—" : `${n0(h.serverCpuUs)} µs`,
        String(h.failed)
      ]),
      note: workersNote(r.http)
    })
  }
  if (r.pglite) {
    const p = r.pglite
    out.push({
      title: `Embedded store (PGlite): ${n0(p.rows)} rows`,
      headers: ["ingest rows/s", "index build", `recall (ef ${p.ef})`, "p50", "p99", "q/s (1 caller)", "cache miss", "cache hit", "hit vs miss"],
      rows: [[n0(p.ingestRowsPerSecond), `${p.indexBuildSeconds.toFixed(1)} s`, p.recall.toFixed(3), ms(p.latency.p50Ms), ms(p.latency.p99Ms), n0(p.queriesPerSecond), ms(p.cacheMiss.meanMs), ms(p.cacheHit.meanMs), `${p.cacheRatio.toFixed(0)}×`]]
    })
  }
  if (r.keyword) {
    const k = r.keyword
    out.push({
      title: `Keyword, hybrid and vector search on real-looking text (the local embedder, ${k.index}, caches off, ${k.queries} queries, k 10)`,
      headers: ["records", "store", "mode", "p50", "p95", "q/s (1 caller)", `q/s (${k.callers} callers)`, "p50 vs vector p50"],
      rows: k.figures.map((f) => [
        n0(f.rows), f.store, f.mode, ms(f.latency.p50Ms), ms(f.latency.p95Ms), n0(f.queriesPerSecond),
        f.queriesPerSecondConcurrent === undefined ? "—" : n0(f.queriesPerSecondConcurrent), times(f.vsVector)
      ]),
      note: `${ingestNote(k)}.`
    })
  }
  if (r.goals.length > 0) {
    out.push({
      title: "Goals",
      headers: ["goal", "target", "measured", "met"],
      rows: r.goals.map((g) => [g.goal, g.target, g.measured, g.met === undefined ? "—" : g.met ? "yes" : "no"])
    })
  }
  return out
}

export const text = (r: Results) => sections(r).map((s) => `\n${s.title}\n\n${table(s.headers, s.rows)}${s.note ? `\n\n${s.note}` : ""}`).join("\n")

export const markdown = (r: Results) => {
  const m = r.machine
  const pg = m.postgres
  const head = [
    `# agent-memory benchmark, ${r.startedAt}`,
    "",
    `\`${r.command}\` — ${(r.seconds / 60).toFixed(1)} minutes`,
    "",
    `Machine: ${m.cpus} × ${m.cpuModel}, ${m.memoryGiB.toFixed(0)} GiB RAM, Node ${m.node}, ${m.os}; ` +
      (pg ? `PostgreSQL ${pg.version}, pgvector ${pg.pgvector} (shared_buffers ${pg.settings["shared_buffers"]}, maintenance_work_mem ${pg.settings["maintenance_work_mem"]}, ${pg.standbys} streaming standby(s) on the same machine)` : "no PostgreSQL") +
      `; Redis ${m.redis ?? "not used"}. Load average ${m.loadBefore.toFixed(2)} before, ${m.loadAfter.toFixed(2)} after.`,
    "",
    `Data: ${n0(r.dataset.rows)} rows × ${r.dataset.dims} dims from a ${r.dataset.clusters}-cluster Gaussian mixture, ${r.dataset.queries} queries, seed ${r.dataset.seed}.`
  ]
  const body = sections(r).map((s) => `\n## ${s.title}\n\n${table(s.headers, s.rows)}${s.note ? `\n\n${s.note}` : ""}`)
  const errors = r.errors.length > 0 ? ["\n## Errors\n", ...r.errors.map((e) => `- ${e.scenario}: ${e.message}`)] : []
  return [...head, ...body, ...errors, ""].join("\n")
}
