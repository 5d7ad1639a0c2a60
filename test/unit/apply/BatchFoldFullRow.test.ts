import { describe, expect, it } from "@effect/vitest"
import { foldBatch } from "../../../src/apply/clone/BatchFold.js"
import { relation, source } from "../../support/changes.js"
import { show, target } from "../../support/plans.js"

const t1 = relation("t1", ["id", "name", "salary"], { key: ["id"] })
const t2 = relation("t2", ["id", "name", "salary", "extra"], { identity: "f" })

describe("BatchFold full-row", () => {
  const rt2 = target(["id", "name", "salary", "extra"])

  it("runs consecutive changes in one step, one destination row per change", () => {
    const s = source()
    const r1 = { id: "1", name: "r1", salary: null, extra: null }
    const r2 = { id: "1", name: "r1", salary: null, extra: "foo" }
    const plan = foldBatch(rt2, [
      s.insert(t2, r1),
      s.insert(t2, r2),
      s.insert(t2, r2),
      s.update(t2, { ...r1, id: "5" }, r1),
      s.update(t2, { ...r2, id: "5" }, r2),
      s.update(t2, { ...r2, id: "5" }, r2)
    ])
    // the updates' old images were inserted in the same run: they need the next statement
    expect(plan.steps.map((st) => st._tag === "FullRow" && st.rows.map((r) => r.op).join(""))).toEqual(["000", "111"])
  })

  it("starts a new step when a change needs a row produced earlier in the step", () => {
    const s = source()
    const a = { id: "1", name: "a", salary: null, extra: null }
    const b = { ...a, salary: "2" }
    const c = { ...a, salary: "3" }
    const plan = foldBatch(rt2, [s.update(t2, b, a), s.update(t2, c, a), s.update(t2, a, b), s.delete(t2, c)])
    expect(show(rt2, plan)).toEqual([
      {
        FullRow: [
          { op: 1, old: a, new: b },
          { op: 1, old: a, new: c }
        ]
      },
      {
        FullRow: [
          { op: 1, old: b, new: a },
          { op: 2, old: c, new: null }
        ]
      }
    ])
  })

  it("fills unchanged TOAST values of the new image from the old image", () => {
    const s = source()
    const plan = foldBatch(rt2, [
      s.update(t2, { id: "1", name: "x" }, { id: "1", name: "a", salary: "1", extra: "big" })
    ])
    expect(show(rt2, plan)).toEqual([
      {
        FullRow: [
          {
            op: 1,
            old: { id: "1", name: "a", salary: "1", extra: "big" },
            new: { id: "1", name: "x", salary: "1", extra: "big" }
          }
        ]
      }
    ])
  })
})

describe("BatchFold cost", () => {
  it("folds 100,000 changes quickly", () => {
    const dst = target(["id", "name", "salary"], ["id"])
    const s = source()
    const batch = Array.from({ length: 100_000 }, (_, i) =>
      i % 4 === 3
        ? s.update(t1, { id: String(i - 1), name: "u", salary: "1" })
        : s.insert(t1, { id: String(i), name: "n", salary: null })
    )
    const started = performance.now()
    const plan = foldBatch(dst, batch)
    const ms = performance.now() - started
    expect(plan.steps).toHaveLength(1)
    expect(plan.steps[0]!._tag === "Write" && plan.steps[0]!.rows.length).toBe(75_000)
    expect(ms).toBeLessThan(5000)
  })
})
