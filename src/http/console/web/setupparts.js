// Parts of the setup wizard: the preflight's findings (each message states its fix) and the table picker (row
// estimate, key, mode and target per table; tables with a key are picked by default).
import { badge, el, num } from "./dom.js"
import { modeSelect, targetInput } from "./mapedit.js"

const RANK = { error: 0, warning: 1, info: 2 }

/** the findings, errors first; a heading that takes the focus once they are shown */
export function findingsView(result) {
  const box = el("section", null, "preflight", { "aria-labelledby": "preflight-title" })
  const errors = result.findings.filter((f) => f.severity === "error").length
  box.appendChild(el("h3", "Preflight of " + result.url, null, { id: "preflight-title", tabindex: "-1" }))
  box.appendChild(
    el(
      "p",
      errors > 0
        ? errors + " problem(s) would stop replication: fix them as each says, then run the preflight again."
        : "Ready to replicate into " + result.destination + ".",
      errors > 0 ? "bad" : "ok",
      { id: "preflight-verdict" }
    )
  )
  if (result.problem) box.appendChild(el("p", "Cannot list the tables: " + result.problem, "bad"))
  if (result.findings.length === 0) return box
  const list = box.appendChild(el("ul", null, "findings", { "aria-label": "Findings" }))
  for (const f of [...result.findings].sort((a, b) => RANK[a.severity] - RANK[b.severity])) {
    const li = list.appendChild(el("li", null, "finding sev-" + f.severity))
    li.appendChild(badge(f.severity))
    const where = f.side + (f.table ? " \u00b7 " + f.table : "")
    li.appendChild(el("span", " " + where + ": ", "meta"))
    li.appendChild(el("span", f.message))
  }
  return box
}

/** the table picker; `picked()` answers [{ schema, name, mode, target }] */
export function tablePicker(tables, previous) {
  const box = el("div")
  const t = box.appendChild(el("table"))
  t.appendChild(el("caption", "Tables of the source"))
  const head = t.appendChild(el("thead")).appendChild(el("tr"))
  for (const c of ["replicate", "source table", "rows (estimate)", "primary key", "mode", "target"])
    head.appendChild(el("th", c, c.startsWith("rows") ? "num" : "", { scope: "col" }))
  const body = t.appendChild(el("tbody"))
  const rows = []
  for (const tb of tables) {
    const key = tb.schema + "." + tb.name
    const before = previous && previous.get(key)
    const check = el("input", null, null, { type: "checkbox", "aria-label": "Replicate " + key })
    check.checked = before ? before.checked : tb.hasPrimaryKey
    const mode = modeSelect(before ? before.mode : "clone", { "aria-label": "Mode of " + key })
    const target = targetInput(before ? before.target : tb.name, { "aria-label": "Target of " + key })
    const tr = body.appendChild(el("tr"))
    const cells = [
      check,
      key + (tb.relkind === "p" ? " (partitioned)" : ""),
      num(tb.estimatedRows),
      tb.hasPrimaryKey ? "yes" : "no (insert-only)",
      mode,
      target
    ]
    for (const [i, cell] of cells.entries()) {
      const td = tr.appendChild(el("td", null, i === 2 ? "num" : ""))
      if (cell instanceof Node) td.appendChild(cell)
      else td.textContent = cell
    }
    rows.push({ tb, key, check, mode, target })
  }
  return {
    node: box,
    /** what is picked now, by source table (kept across a new preflight) */
    state: () =>
      new Map(rows.map((r) => [r.key, { checked: r.check.checked, mode: r.mode.value, target: r.target.value }])),
    picked: () =>
      rows
        .filter((r) => r.check.checked)
        .map((r) => ({ schema: r.tb.schema, name: r.tb.name, mode: r.mode.value, target: r.target.value.trim() }))
  }
}
