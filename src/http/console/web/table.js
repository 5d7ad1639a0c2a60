// The detail of one destination table: state, mode, rows/s, lag, mailbox, the last error with its SQLSTATE,
// sync progress with rate and ETA, its column mapping (source → destination with types) and check findings.
import { getJson } from "./api.js"
import { makeChart } from "./charts.js"
import { badge, dash, duration, el, latest, num, rate, row, seconds, stat, table } from "./dom.js"
import { syncCell } from "./overview.js"

const SQLSTATE_CLASSES = {
  "08": "connection exception",
  22: "data exception: a value does not fit the destination column",
  23: "integrity constraint violation",
  25: "invalid transaction state",
  40: "transaction rollback",
  42: "syntax error or access rule violation: the destination table does not match",
  53: "insufficient resources",
  57: "operator intervention"
}
const SQLSTATES = {
  42804: "datatype mismatch: a destination column has a type the source values cannot be stored in",
  42703: "undefined column",
  "42P01": "undefined table",
  42501: "insufficient privilege",
  23502: "not-null violation",
  23505: "unique violation",
  23503: "foreign key violation",
  23514: "check violation",
  "22P02": "invalid text representation",
  22001: "string data right truncation",
  22003: "numeric value out of range"
}

export function sqlstateText(code) {
  return SQLSTATES[code] ?? SQLSTATE_CLASSES[code.slice(0, 2)] ?? "see the Postgres documentation, appendix A"
}

/** the SQLSTATE in a writer error ("table t: column "c": 42804 …") */
export function sqlstateOf(error) {
  const m = /^table [^:]*:(?: column "[^"]*":)? ([0-9A-Z]{5}) /.exec(error ?? "")
  return m ? m[1] : null
}

export function mountTable(view, ctx, target) {
  const title = view.appendChild(el("div", null, "title-row"))
  const back = el("a", "\u2190 all tables", "back", { href: "#/" })
  title.appendChild(back)
  title.appendChild(el("h2", "Table " + target, null, { id: "view-title" }))
  const stateBox = title.appendChild(el("span"))
  const resync = el("button", "Resync this table", null, { type: "button" })
  resync.addEventListener("click", () => ctx.resync(target))
  title.appendChild(resync)

  const errorBox = view.appendChild(el("div"))
  const stats = view.appendChild(el("section", null, "stats", { "aria-label": "Figures of " + target }))
  const syncBox = view.appendChild(el("section"))
  const grid = view.appendChild(el("section", null, "charts two"))
  const rowsChart = makeChart(grid, "Rows written per second", rate, [{ label: target }])
  const mailboxChart = makeChart(grid, "Mailbox depth (changes waiting)", num, [{ label: target }])
  const mappingBox = view.appendChild(el("section"))
  mappingBox.appendChild(el("p", "Reading the column mapping from the source and destination\u2026", "meta"))

  let detail
  const load = async () => {
    try {
      detail = await getJson("./api/tables/" + encodeURIComponent(target))
      renderMapping()
    } catch (e) {
      mappingBox.replaceChildren(el("p", "Cannot read the column mapping: " + e.message, "bad"))
    }
  }
  void load()

  function renderMapping() {
    const box = []
    box.push(el("h3", "Column mapping"))
    const feeds = detail.feeds.map((f) => f.source + " on " + f.database + " (" + f.sids.join(", ") + ")").join("; ")
    box.push(
      el(
        "p",
        "Fed by " + feeds + " into " + detail.destinationSchema + "." + detail.target + ", mode " + detail.mode + ".",
        "meta"
      )
    )
    for (const p of detail.problems) box.push(el("p", p, "bad"))
    const { table: t, body } = table("Columns: source \u2192 destination", [
      "source column",
      "source type",
      "destination column",
      "destination type",
      "key",
      "note"
    ])
    for (const c of detail.columns) {
      const tr = row([c.source, c.sourceType, c.destination, c.destinationType, c.key ? "key" : "", dash(c.note)])
      if (c.note && /fail|differ|skipped/.test(c.note)) tr.className = "attention"
      body.appendChild(tr)
    }
    box.push(t)
    if (detail.findings.length > 0) {
      box.push(el("h3", "Findings of walferry check"))
      const ul = el("ul", null, "findings")
      for (const f of detail.findings) ul.appendChild(el("li", f.severity + ": " + f.message, f.severity))
      box.push(ul)
    }
    const reload = el("button", "Read the catalogs again", "small", { type: "button" })
    reload.addEventListener("click", load)
    box.push(reload)
    mappingBox.replaceChildren(...box)
  }

  function update({ status, series }) {
    const t = status && status.tables.find((x) => x.target === target)
    if (!t) {
      stateBox.replaceChildren(el("span", status ? "not in the mapping" : "", "bad"))
      return
    }
    stateBox.replaceChildren(badge(t.state))
    const ts = series && series.tables.find((x) => x.target === target)
    const feeding = new Set(detail ? detail.feeds.map((f) => f.database) : [])
    const lags = (series ? series.sources : [])
      .filter((s) => feeding.has(s.database))
      .map((s) => latest(s.lagSeconds))
      .filter((v) => typeof v === "number")
    const lag = lags.length ? Math.max(...lags) : undefined
    const rowsPerSec = ts ? latest(ts.rowsPerSec) : undefined
    stats.replaceChildren(
      stat("mode", t.mode),
      stat("rows/s", rate(rowsPerSec)),
      stat("lag", seconds(lag)),
      stat("mailbox", num(t.mailboxDepth)),
      stat("rows applied", num(t.rowsApplied), num(t.batches) + " batches"),
      stat("last LSN", dash(t.lastLsn))
    )
    if (t.error) {
      const code = sqlstateOf(t.error)
      const box = el("div", null, "error-box", { role: "alert" })
      box.appendChild(el("h3", t.state === "stopped" ? "Stopped on an error" : "Last error"))
      box.appendChild(el("p", t.error, "mono"))
      if (code) box.appendChild(el("p", "SQLSTATE " + code + ": " + sqlstateText(code)))
      box.appendChild(
        el("p", "Fix the cause (see the column mapping below), then resync this table to copy it again.", "meta")
      )
      errorBox.replaceChildren(box)
    } else errorBox.replaceChildren()
    const p = t.syncProgress
    if (p && p.chunksTotal > 0) {
      const left = p.chunksDone > 0 ? (p.rows / p.chunksDone) * (p.chunksTotal - p.chunksDone) : undefined
      const eta =
        p.chunksDone >= p.chunksTotal
          ? "done"
          : left !== undefined && rowsPerSec > 0
            ? duration(left / rowsPerSec)
            : "\u2014"
      syncBox.replaceChildren(
        el("h3", "Initial copy"),
        syncCell(p),
        el("p", "rate " + rate(rowsPerSec) + ", ETA " + eta, "meta")
      )
    } else syncBox.replaceChildren()
    if (ts && series) {
      rowsChart.update(series.t, [ts.rowsPerSec])
      mailboxChart.update(series.t, [ts.mailboxDepth])
    }
  }

  return {
    update,
    destroy() {
      rowsChart.destroy()
      mailboxChart.destroy()
    }
  }
}
