import { describe, expect, it } from "@effect/vitest"
import {
  renderReport,
  verdictOf,
  verifyExitCode,
  type TableReport,
  type VerifyReport
} from "../../../src/verify/VerifyReport.js"

const table = (over: Partial<TableReport>): TableReport => {
  const base = {
    table: "public.orders",
    target: "orders",
    source: "shop/a",
    sid: "a",
    mode: "clone" as const,
    keyed: true,
    columns: ["id", "v"],
    sourceRows: 10,
    destinationRows: 10,
    ranges: 2,
    differingRanges: 0,
    missing: 0,
    extra: 0,
    different: 0,
    extraAllowed: 0,
    keys: { missing: [], extra: [], different: [] },
    rounds: 1,
    millis: 12,
    ...over
  }
  return { ...base, verdict: verdictOf(base) }
}

const report = (tables: Array<TableReport>): VerifyReport => ({
  verdict: tables.every((t) => t.verdict === "equal") ? "equal" : "different",
  tables,
  catchUp: [{ source: "shop/a", lsn: "0/16B3748", state: "reached", millis: 5 }],
  repaired: false,
  millis: 40
})

describe("verify report", () => {
  it("equal tables: exit 0, one line each", () => {
    const r = report([table({})])
    expect(verifyExitCode(r)).toBe(0)
    const text = renderReport(r)
    expect(text).toContain('public.orders → orders [shop/a; clone, sid "a"]')
    expect(text).toContain("rows 10 source / 10 destination, ranges 2; equal")
    expect(text).toContain("WAL position 0/16B3748 at start, destination confirmed it")
    expect(text.split("\n").at(-1)).toBe("EQUAL")
  })

  it("differences: exit 1, keys listed and capped lists say how many more", () => {
    const t = table({
      missing: 3,
      different: 1,
      differingRanges: 1,
      keys: { missing: [{ id: "7" }, { id: "8" }], extra: [], different: [{ id: "9", k: null }] }
    })
    expect(t.verdict).toBe("different")
    const r = report([t])
    expect(verifyExitCode(r)).toBe(1)
    const text = renderReport(r)
    expect(text).toContain("DIFFERENT: 3 missing, 0 extra, 1 different")
    expect(text).toContain("missing   id=7")
    expect(text).toContain("missing   … and 1 more")
    expect(text).toContain("different id=9, k=NULL")
    expect(text.split("\n").at(-1)).toBe("NOT EQUAL")
  })

  it("an error is not equal; append and keyless say how they compared", () => {
    expect(table({ error: "boom" }).verdict).toBe("error")
    const text = renderReport(report([table({ mode: "append", extraAllowed: 4, keyed: false, sid: undefined })]))
    expect(text).toContain("[shop/a; append, superset, no key: whole-row hash multisets]")
    expect(text).toContain("4 extra (append keeps them)")
  })
})
