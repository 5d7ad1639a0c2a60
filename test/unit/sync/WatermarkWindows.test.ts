import { describe, expect, it } from "@effect/vitest"
import { Deferred, Effect, Option } from "effect"
import { INSERT, type Change } from "../../../src/domain/Change.js"
import type { Relation } from "../../../src/domain/Relation.js"
import { isVisible, parseSnapshot, WatermarkWindows, widenXid } from "../../../src/sync/watermark/WatermarkWindows.js"
import type { TableWriter } from "../../../src/writers/TableWriter.js"

const relation: Relation = { oid: 1, schema: "public", name: "t", replicaIdentity: "d", columns: [] }
const writer = (target: string) => ({ target }) as unknown as TableWriter
const change = (lsn: bigint, seq = 1): Change => ({
  _tag: "Row",
  op: INSERT,
  sid: "",
  source: "db/",
  relation,
  lsn,
  seq,
  commitTimeUs: 0n,
  newTuple: [String(lsn)],
  oldTuple: null,
  oldKind: null
})

/** feeds one transaction (xid, lsn) with one change of `target`; true when it was held */
const txn = (w: WatermarkWindows, xid: number, lsn: bigint, target = "t") => {
  w.begin(xid)
  return w.hold(writer(target), change(lsn))
}

describe("snapshot visibility", () => {
  it("parses pg_current_snapshot and decides visibility of committed transactions", () => {
    const s = parseSnapshot("100:110:102,105")
    expect([99, 100, 101, 102, 104, 105, 109, 110, 200].map((x) => isVisible(s, x))).toEqual([
      true,
      true,
      true,
      false,
      true,
      false,
      true,
      false,
      false
    ])
    expect(parseSnapshot("7:7:").xip.size).toBe(0)
  })

  it("widens 32-bit xids around an epoch boundary", () => {
    const s = parseSnapshot(`${(1n << 32n) + 5n}:${(1n << 32n) + 10n}:`)
    expect(widenXid(s, 3)).toBe((1n << 32n) + 3n)
    expect(widenXid(s, 0xfffffff0)).toBe(0xfffffff0n)
    expect(isVisible(s, 0xfffffff0)).toBe(true)
    expect(isVisible(s, 12)).toBe(false)
  })
})

describe("WatermarkWindows", () => {
  it("delivers changes while no window is open and holds them between LW and HW", () => {
    const w = new WatermarkWindows()
    expect(txn(w, 1, 10n)).toBe(false)
    const win = w.expect("a", "t", false)
    w.marker("lw", "a", 20n)
    expect(Option.getOrUndefined(Effect.runSync(Deferred.poll(win.opened)).pipe(Option.map(Effect.runSync)))).toEqual({
      lwLsn: 20n,
      last: { lsn: 10n, seq: 1 }
    })
    expect(txn(w, 2, 30n)).toBe(true)
    expect(txn(w, 3, 40n, "other")).toBe(false)
    expect(txn(w, 4, 50n)).toBe(true)
    expect(w.takeReleased()).toEqual([])
    w.marker("hw", "a", 60n)
    expect(w.takeReleased().map((h) => h.change.lsn)).toEqual([30n, 50n])
    expect(txn(w, 5, 70n)).toBe(false)
  })

  it("overlapping windows release only what precedes every open LW", () => {
    const w = new WatermarkWindows()
    w.expect("a", "t", false)
    w.expect("b", "t", false)
    w.marker("lw", "a", 10n)
    txn(w, 1, 15n)
    w.marker("lw", "b", 20n)
    txn(w, 2, 25n)
    w.marker("hw", "a", 30n)
    expect(w.takeReleased().map((h) => h.change.lsn)).toEqual([15n])
    expect(txn(w, 3, 35n)).toBe(true)
    w.marker("hw", "b", 40n)
    expect(w.takeReleased().map((h) => h.change.lsn)).toEqual([25n, 35n])
  })

  it("a whole-table window drops held changes visible in its snapshot once its rows are committed", () => {
    const w = new WatermarkWindows()
    const win = w.expect("a", "t", true)
    w.marker("lw", "a", 10n)
    txn(w, 101, 11n)
    txn(w, 104, 12n)
    win.snapshot = parseSnapshot("103:105:104")
    win.committed = true
    w.marker("hw", "a", 20n)
    expect(w.takeReleased().map((h) => h.change.lsn)).toEqual([12n])
    expect(w.takeDropped().map((c) => c.lsn)).toEqual([11n])
  })

  it("an abandoned window releases at once (marked dirty), and its late markers are ignored", () => {
    const w = new WatermarkWindows()
    const win = w.expect("a", "t", true)
    w.marker("lw", "a", 10n)
    txn(w, 7, 11n)
    w.abandon(win)
    expect(w.dirty).toBe(true)
    expect(w.takeReleased().map((h) => h.change.lsn)).toEqual([11n])
    expect(w.takeDropped()).toEqual([])
    w.marker("hw", "a", 20n)
    expect(txn(w, 8, 21n)).toBe(false)
  })

  it("race check: a transaction delivered before the LW but not visible in the snapshot", () => {
    const w = new WatermarkWindows()
    txn(w, 50, 5n)
    txn(w, 60, 6n)
    txn(w, 61, 30n)
    expect(w.raceFree("t", 20n, parseSnapshot("55:70:"))).toBe(true)
    expect(w.raceFree("t", 20n, parseSnapshot("55:70:60"))).toBe(false)
    expect(w.raceFree("t", 20n, parseSnapshot("55:58:"))).toBe(false)
    expect(w.raceFree("t", 6n, parseSnapshot("55:58:"))).toBe(true)
    expect(w.raceFree("other", 20n, parseSnapshot("1:2:"))).toBe(true)
  })
})

describe("WatermarkWindows recovery", () => {
  it("drops replayed changes of a recorded whole-table window that its snapshot holds, nothing else", () => {
    const w = new WatermarkWindows()
    w.recover("t", 100n, 200n, parseSnapshot("50:60:55"))
    expect(txn(w, 40, 90n)).toBe(false)
    expect(txn(w, 41, 150n)).toBe(true)
    expect(txn(w, 55, 160n)).toBe(false)
    expect(txn(w, 61, 170n)).toBe(false)
    expect(txn(w, 42, 250n)).toBe(false)
    expect(txn(w, 43, 150n, "other")).toBe(false)
    expect(w.dirty).toBe(true)
    expect(w.takeDropped().map((c) => c.lsn)).toEqual([150n])
  })
})
