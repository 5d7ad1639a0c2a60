import { describe, expect, it } from "@effect/vitest"
import { rangesBetween, sameSummary, splitFailed, splitPlan } from "../../../src/verify/RangePlan.js"
import { diffMultisets, diffRows, reconcile, type RowHash } from "../../../src/verify/RowDiff.js"

const row = (id: number, hash: string): RowHash => ({ key: [String(id)], hash })

describe("range planning", () => {
  it("cuts (lower, upper] into contiguous ranges at the boundaries, dropping repeats and the ends", () => {
    expect(rangesBetween(["10"], ["50"], [["10"], ["20"], ["20"], ["30"], ["50"]])).toEqual([
      { lower: ["10"], upper: ["20"] },
      { lower: ["20"], upper: ["30"] },
      { lower: ["30"], upper: ["50"] }
    ])
    expect(rangesBetween(null, null, [])).toEqual([{ lower: null, upper: null }])
    expect(
      rangesBetween(null, null, [
        ["a", "1"],
        ["b", "2"]
      ])
    ).toEqual([
      { lower: null, upper: ["a", "1"] },
      { lower: ["a", "1"], upper: ["b", "2"] },
      { lower: ["b", "2"], upper: null }
    ])
  })

  it("a split that gives one range has failed", () => {
    expect(splitFailed(rangesBetween(["1"], ["2"], [["2"]]))).toBe(true)
    expect(splitFailed(rangesBetween(["1"], ["9"], [["5"]]))).toBe(false)
  })

  it("compares small ranges row by row and splits big ones on the side with more rows", () => {
    expect(splitPlan({ rows: 900, sum: "1" }, { rows: 1000, sum: "2" }, 1000, 16)).toMatchObject({
      leaf: true,
      side: "destination"
    })
    const plan = splitPlan({ rows: 160_000, sum: "1" }, { rows: 0, sum: "0" }, 1000, 16)
    expect(plan).toEqual({ leaf: false, step: 10_000, side: "source" })
    // never a step so small that a range splits into leaves of a handful of rows
    expect(splitPlan({ rows: 1001, sum: "1" }, { rows: 1001, sum: "2" }, 1000, 100).step).toBe(500)
  })

  it("summaries are equal only with the same count and sum", () => {
    expect(sameSummary({ rows: 3, sum: "12" }, { rows: 3, sum: "12" })).toBe(true)
    expect(sameSummary({ rows: 3, sum: "12" }, { rows: 4, sum: "12" })).toBe(false)
    expect(sameSummary({ rows: 3, sum: "12" }, { rows: 3, sum: "-12" })).toBe(false)
  })
})

describe("narrowing to rows", () => {
  it("finds missing, extra and different rows by key", () => {
    const diffs = diffRows([row(1, "a"), row(2, "b"), row(3, "c")], [row(3, "x"), row(1, "a"), row(4, "d")])
    expect(diffs).toEqual([
      { kind: "missing", key: ["2"], hash: "b" },
      { kind: "different", key: ["3"], hash: "c" },
      { kind: "extra", key: ["4"], hash: "d" }
    ])
    expect(diffRows([row(1, "a")], [row(1, "a")])).toEqual([])
  })

  it("a key held twice by the destination (two open versions) is different, or extra without a source row", () => {
    expect(diffRows([row(1, "a")], [row(1, "a"), row(1, "a")])).toEqual([{ kind: "different", key: ["1"], hash: "a" }])
    expect(diffRows([], [row(2, "a"), row(2, "b")])).toEqual([{ kind: "extra", key: ["2"], hash: "a" }])
  })

  it("NULL key parts and text that looks alike stay distinct", () => {
    const s: RowHash = { key: ["1", null], hash: "h" }
    const d: RowHash = { key: ["1", "null"], hash: "h" }
    expect(diffRows([s], [d]).map((x) => x.kind)).toEqual(["missing", "extra"])
  })

  it("reconciles a row that fell in different ranges on the two sides", () => {
    const moved = reconcile([
      { kind: "missing", key: ["k"], hash: "1" },
      { kind: "extra", key: ["k"], hash: "1" },
      { kind: "missing", key: ["m"], hash: "1" },
      { kind: "extra", key: ["m"], hash: "2" },
      { kind: "extra", key: ["n"], hash: "3" }
    ])
    expect(moved).toEqual([
      { kind: "different", key: ["m"], hash: "1" },
      { kind: "extra", key: ["n"], hash: "3" }
    ])
  })

  it("keyless: multiset differences with multiplicities", () => {
    expect(
      diffMultisets(
        [
          { hash: "a", count: 2 },
          { hash: "b", count: 1 }
        ],
        [
          { hash: "a", count: 1 },
          { hash: "c", count: 2 },
          { hash: "b", count: 1 }
        ]
      )
    ).toEqual({ missing: [{ hash: "a", count: 1 }], extra: [{ hash: "c", count: 2 }] })
  })
})
