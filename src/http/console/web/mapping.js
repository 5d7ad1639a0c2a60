// The mapping: every table found on each source database, whether walferry replicates it, to which target and
// in which mode, with its row estimate and whether it has a key. Read-only when the mapping comes from YAML; with
// map_mode: database the editor (mapedit.js) adds, changes and removes tables through /api/tbl.
import { getJson } from "./api.js"
import { el, num, row, table } from "./dom.js"
import { addForm, rowControls } from "./mapedit.js"

const IDENTITY = { d: "default (key)", f: "full", i: "index", n: "nothing" }

const READ_ONLY =
  "The mapping comes from the configuration file (map_file or map): it is read-only here. Edit the file and restart walferry to change it (or run with map_mode: database to edit it here)."
const EDITABLE =
  "The mapping is stored in the destination database (map_mode: database): add, change or remove tables here. Each change takes effect at once: an added table is copied online, then streams. Changes need the API token."

export function mountMapping(view, ctx) {
  view.appendChild(el("h2", "Mapping", null, { id: "view-title" }))
  const note = view.appendChild(el("p", null, "meta", { id: "mapping-note" }))
  const box = view.appendChild(el("div"))
  box.appendChild(el("p", "Listing the tables of every source\u2026", "meta"))

  const load = async () => {
    const focused = document.activeElement && document.activeElement.dataset.focusKey
    try {
      const catalog = await getJson("./api/catalog")
      const stored = catalog.editable ? await getJson("./api/tbl") : []
      note.textContent = catalog.editable ? EDITABLE : READ_ONLY
      render(catalog, stored)
      if (catalog.editable && catalog.groups.length === 0)
        box.prepend(el("p", "No source yet: the setup page adds the first one.", "meta"))
    } catch (e) {
      box.replaceChildren(el("p", "Cannot list the tables: " + e.message, "bad"))
    }
    if (focused) {
      const again = document.querySelector('[data-focus-key="' + CSS.escape(focused) + '"]')
      if (again) again.focus()
      else document.getElementById("view-title").focus()
    }
  }

  function render(catalog, stored) {
    const parts = []
    for (const g of catalog.groups) {
      const editable = catalog.editable && g.dbId !== null
      parts.push(el("h3", "Database " + g.database + " (sources " + g.sids.join(", ") + ")"))
      if (g.problem) parts.push(el("p", "Cannot read this source: " + g.problem, "bad"))
      const replicated = g.tables.filter((t) => t.replicated).length
      parts.push(el("p", g.tables.length + " tables found, " + replicated + " replicated.", "meta"))
      if (editable && !g.problem) parts.push(addForm(g, ctx, load))
      const cols = [
        "source table",
        "rows (estimate)#",
        "primary key",
        "replica identity",
        "replicated",
        "target",
        "mode"
      ]
      const { table: t, body } = table("Tables of " + g.database, editable ? [...cols, "change"] : cols)
      for (const tb of g.tables) {
        const target = tb.target
          ? el("a", tb.target, null, { href: "#/table/" + encodeURIComponent(tb.target) })
          : "\u2014"
        const cells = [
          tb.schema + "." + tb.name + (tb.relkind === "p" ? " (partitioned)" : ""),
          [num(tb.estimatedRows), "num"],
          tb.hasPrimaryKey ? "yes" : "no",
          IDENTITY[tb.replicaIdentity] ?? tb.replicaIdentity,
          tb.replicated ? "yes" : "no",
          target,
          tb.mode ?? "\u2014"
        ]
        if (editable) {
          const s = stored.find((x) => x.db_id === g.dbId && x.schema === tb.schema && x.name === tb.name)
          cells.push(tb.replicated && s ? rowControls(g, tb, s, ctx, load) : "")
        }
        const tr = row(cells)
        tr.className = tb.replicated ? "replicated" : "unmapped"
        body.appendChild(tr)
      }
      for (const m of g.missing) {
        const tr = row([m.source, "", "", "", "mapped, not found on the source", m.target, m.mode])
        tr.className = "attention"
        body.appendChild(tr)
      }
      parts.push(t)
    }
    const again = el("button", "List again", "small", { type: "button" })
    again.addEventListener("click", load)
    parts.push(again)
    box.replaceChildren(...parts)
  }

  void load()
  return { update() {}, destroy() {} }
}
