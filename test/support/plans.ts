/** Plans made readable for BatchFold tests: rows keyed by destination column name, unwritten columns left out. */
import type { Cells, Plan } from "../../src/apply/clone/ApplyPlan.js"
import type { ApplyTarget } from "../../src/apply/ApplyTarget.js"

export const target = (
  columns: ReadonlyArray<string>,
  primaryKey: ReadonlyArray<string> = [],
  name = "t"
): ApplyTarget => ({
  schema: "public",
  name,
  columns: columns.map((c) => ({ name: c, typeName: "text" })),
  primaryKey,
  hasSid: columns.includes("sid")
})

export const show = (t: ApplyTarget, plan: Plan) => {
  const named = (cells: Cells | null) =>
    cells === null
      ? null
      : Object.fromEntries(t.columns.flatMap((c, i) => (cells[i] === undefined ? [] : [[c.name, cells[i]]])))
  return plan.steps.map((s) => {
    switch (s._tag) {
      case "Truncate":
        return { Truncate: s.sid }
      case "Write":
        return { [s.complete ? "Upsert" : "Patch"]: s.rows.map(named) }
      case "Delete":
        return { Delete: s.rows.map((r) => Object.fromEntries(s.map.key.map((p) => [t.columns[p]!.name, r[p]]))) }
      case "Move":
        return {
          Move: s.rows.map((r) => ({
            from: Object.fromEntries(s.map.key.map((p) => [t.columns[p]!.name, r.old[p]])),
            to: named(r.cells)
          }))
        }
      case "FullRow":
        return { FullRow: s.rows.map((r) => ({ op: r.op, old: named(r.old), new: named(r.cells) })) }
    }
  })
}
