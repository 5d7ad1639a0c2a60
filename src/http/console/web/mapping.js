// The mapping: every table found on each source database, whether walferry replicates it, to which target and
// in which mode, with its row estimate and whether it has a key. Read-only when the mapping comes from YAML.
import { getJson } from "./api.js"
import { el, num, row, table } from "./dom.js"

const IDENTITY = { d: "default (key)", f: "full", i: "index", n: "nothing" }

export function mountMapping(view) {
  view.appendChild(el("h2", "Mapping", null, { id: "view-title" }))
  const note = view.appendChild(el("p", null, "meta"))
  const box = view.appendChild(el("div"))
  box.appendChild(el("p", "Listing the tables of every source\u2026", "meta"))

  const load = async () => {
    try {
      const catalog = await getJson("./api/catalog")
      note.textContent = catalog.readOnly
        ? "The mapping comes from the configuration file (map_file or map): it is read-only here. Edit the file and restart walferry to change it."
        : "The mapping is stored in the destination database."
      render(catalog.groups)
    } catch (e) {
      box.replaceChildren(el("p", "Cannot list the tables: " + e.message, "bad"))
    }
  }

  function render(groups) {
    const parts = []
    for (const g of groups) {
      parts.push(el("h3", "Database " + g.database + " (sources " + g.sids.join(", ") + ")"))
      if (g.problem) parts.push(el("p", "Cannot read this source: " + g.problem, "bad"))
      const replicated = g.tables.filter((t) => t.replicated).length
      parts.push(el("p", g.tables.length + " tables found, " + replicated + " replicated.", "meta"))
      const { table: t, body } = table("Tables of " + g.database, [
        "source table",
        "rows (estimate)#",
        "primary key",
        "replica identity",
        "replicated",
        "target",
        "mode"
      ])
      for (const tb of g.tables) {
        const target = tb.target
          ? el("a", tb.target, null, { href: "#/table/" + encodeURIComponent(tb.target) })
          : "\u2014"
        const tr = row([
          tb.schema + "." + tb.name + (tb.relkind === "p" ? " (partitioned)" : ""),
          [num(tb.estimatedRows), "num"],
          tb.hasPrimaryKey ? "yes" : "no",
          IDENTITY[tb.replicaIdentity] ?? tb.replicaIdentity,
          tb.replicated ? "yes" : "no",
          target,
          tb.mode ?? "\u2014"
        ])
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
