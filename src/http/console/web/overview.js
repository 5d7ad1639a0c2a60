// The overview: headline figures, charts of the last minutes (changes/s, rows/s, lag, retained WAL with the
// slot's limit), the sources with their slot headroom, and every table with a link to its detail and a resync.
import { makeChart } from "./charts.js"
import { badge, bytes, dash, el, latest, num, rate, row, seconds, stat, table } from "./dom.js"

const sourceName = (s) => s.database + "/" + s.sid

/** lines of a chart: overall, plus one per source when there are several */
function linesOf(series, field) {
  const many = series.sources.length > 1
  const lines = [{ label: "all sources" }]
  const columns = [series.overall[field]]
  if (many)
    for (const s of series.sources) {
      lines.push({ label: sourceName(s) })
      columns.push(s[field])
    }
  return { lines, columns }
}

function walLines(series) {
  const lines = []
  const columns = []
  for (const s of series.sources) {
    lines.push({ label: sourceName(s) + " retained" })
    columns.push(s.retainedWalBytes)
    if (s.safeWalSizeBytes.some((v) => v !== null)) {
      lines.push({ label: sourceName(s) + " limit", color: "#b91c1c", dash: true })
      columns.push(s.safeWalSizeBytes.map((v, i) => (v === null ? null : v + (s.retainedWalBytes[i] ?? 0))))
    }
  }
  return { lines, columns }
}

export function mountOverview(view, ctx) {
  const stats = view.appendChild(el("section", null, "stats", { "aria-label": "Headline figures" }))
  const warnings = view.appendChild(el("div"))
  const grid = view.appendChild(el("section", null, "charts", { "aria-label": "Charts" }))
  const charts = {
    changes: makeChart(grid, "Changes applied per second", rate, [{ label: "all sources" }]),
    rows: makeChart(grid, "Rows written per second (changes and copy)", rate, [{ label: "all sources" }]),
    lag: makeChart(grid, "End-to-end lag (source commit \u2192 destination commit)", seconds, [
      { label: "all sources" }
    ]),
    wal: makeChart(grid, "WAL retained by the slot", bytes, [{ label: "retained" }])
  }
  const sourcesBox = view.appendChild(el("section"))
  const tablesBox = view.appendChild(el("section"))

  function update({ status, series }) {
    if (series) {
      const o = series.overall
      stats.replaceChildren(
        stat("changes/s", rate(latest(o.changesPerSec))),
        stat("rows/s", rate(latest(o.rowsPerSec))),
        stat("lag", seconds(latest(o.lagSeconds))),
        stat("retained WAL", bytes(latest(o.retainedWalBytes))),
        stat("tables", String(status ? status.tables.length : "\u2014"), status ? stoppedNote(status) : "")
      )
      warnings.replaceChildren(
        ...series.sources
          .filter((s) => s.warning)
          .map((s) => el("p", "Slot of " + sourceName(s) + ": " + s.warning, "warning", { role: "alert" }))
      )
      for (const key of ["changes", "rows", "lag"]) {
        const field = { changes: "changesPerSec", rows: "rowsPerSec", lag: "lagSeconds" }[key]
        const { lines, columns } = linesOf(series, field)
        charts[key].update(series.t, columns, lines)
      }
      const wal = walLines(series)
      if (wal.lines.length > 0) charts.wal.update(series.t, wal.columns, wal.lines)
    }
    if (status) {
      renderSources(status, series)
      renderTables(status, series)
    }
  }

  function stoppedNote(status) {
    const stopped = status.tables.filter((t) => t.state === "stopped").length
    return stopped > 0 ? stopped + " stopped" : "none stopped"
  }

  function renderSources(status, series) {
    const cluster = status.cluster
    const { table: t, body } = table("Sources", [
      "source",
      "state",
      ...(cluster ? ["owner"] : []),
      "confirmed LSN",
      "received LSN",
      "lag#",
      "retained WAL#",
      "WAL headroom#",
      "restarts#",
      "error"
    ])
    for (const s of status.sources) {
      const ss = series && series.sources.find((x) => x.database === s.database && x.sid === s.sid)
      const safe = ss ? latest(ss.safeWalSizeBytes) : undefined
      body.appendChild(
        row([
          sourceName(s),
          badge(s.state),
          ...(cluster ? [ownerCell(s.owner, cluster.runner)] : []),
          s.confirmedLsn,
          s.receivedLsn,
          [seconds(ss ? latest(ss.lagSeconds) : s.lagSeconds), "num"],
          [bytes(s.retainedWalBytes), "num"],
          [safe === undefined ? "unlimited" : bytes(safe), ss && ss.warning ? "num bad" : "num"],
          [num(s.restarts), "num"],
          [dash(s.error), "err"]
        ])
      )
    }
    const parts = [t]
    if (cluster)
      parts.unshift(
        el(
          "p",
          "Cluster: this page is served by runner " +
            cluster.runner +
            "; runners alive: " +
            (cluster.runnersAlive.join(", ") || "\u2014") +
            ". Each source is streamed by its owner.",
          "meta",
          { id: "cluster-note" }
        )
      )
    sourcesBox.replaceChildren(...parts)
  }

  function renderTables(status, series) {
    const { table: t, body } = table("Tables", [
      "table",
      "mode",
      "state",
      "rows/s#",
      "rows applied#",
      "mailbox#",
      "sync",
      "error",
      "actions"
    ])
    for (const tb of status.tables) {
      const ts = series && series.tables.find((x) => x.target === tb.target)
      const link = el("a", tb.target, null, { href: "#/table/" + encodeURIComponent(tb.target) })
      const resync = el("button", "Resync", "small", {
        type: "button",
        "data-focus-key": "resync:" + tb.target,
        "aria-label": "Resync " + tb.target
      })
      resync.addEventListener("click", () => ctx.resync(tb.target))
      body.appendChild(
        row([
          link,
          tb.mode,
          badge(tb.state),
          [rate(ts ? latest(ts.rowsPerSec) : undefined), "num"],
          [num(tb.rowsApplied), "num"],
          [num(tb.mailboxDepth), "num"],
          syncCell(tb.syncProgress),
          [dash(tb.error), "err"],
          resync
        ])
      )
    }
    tablesBox.replaceChildren(t)
  }

  return {
    update,
    destroy() {
      for (const c of Object.values(charts)) c.destroy()
    }
  }
}

/** which runner streams a source: this one, another one, or none while it moves */
function ownerCell(owner, runner) {
  if (owner === undefined || owner === null) return ["none (moving)", "meta"]
  return owner === runner ? owner + " (this runner)" : owner
}

export function syncCell(p) {
  if (!p || !(p.chunksTotal > 0)) return "\u2014"
  const box = el("span", null, "sync")
  const bar = el("progress", null, null, { "aria-label": "chunks copied" })
  bar.max = p.chunksTotal
  bar.value = p.chunksDone
  box.appendChild(bar)
  box.appendChild(el("span", " " + p.chunksDone + "/" + p.chunksTotal + " chunks, " + num(p.rows) + " rows"))
  return box
}
