import { describe, expect, it } from "@effect/vitest"
import { RawArena } from "../../../src/decode/RawTuple.js"
import { RawInsert, RawTx } from "../../../src/domain/RawInsert.js"
import { columnMap } from "../../../src/apply/ColumnMap.js"
import { rawInsertArrays, rawInsertsOf } from "../../../src/apply/clone/RowArrays.js"
import { insertCells } from "../../../src/apply/clone/FoldCells.js"
import { textArrayOf } from "../../../src/apply/TextArray.js"
import * as E from "../../support/PgOutputEncoder.js"
import { relation, source } from "../../support/changes.js"
import { target } from "../../support/plans.js"

type Value = string | null

const rawInsert = (arena: RawArena, rel: ReturnType<typeof relation>, values: ReadonlyArray<Value>, sid = "s") => {
  const msg = E.insert(rel.oid, values)
  const at = arena.put(msg, 6, msg.length)
  return new RawInsert(new RawTx(sid, "db/" + sid, 1n, 0n, undefined), rel, 1, arena.buf, at, at + msg.length - 6)
}

/** what the decoded path sends: per written column, the text[] of the projected cells */
const decoded = (map: ReturnType<typeof columnMap>, rows: ReadonlyArray<RawInsert>) => {
  const cells = rows.map((r) => insertCells(map, r))
  return map.mapped.map((p) => textArrayOf(cells.length, (j) => cells[j]![p]))
}

const awkward: ReadonlyArray<Value> = ["", null, "\\N", "tab\there", "😀 é ü 中文", "x".repeat(70_000), "{a,b}", '"q"']

describe("RowArrays", () => {
  it("writes the same binary text[] parameters as the decoded path: NULLs, sid, a source column the target lacks", () => {
    const rel = relation("src", ["id", "gone", "note", "n"], { key: ["id"] })
    const t = target(["note", "sid", "extra", "id", "n"], ["sid", "id"])
    const map = columnMap(rel, t)
    const arena = new RawArena(64 << 10)
    const rows: Array<RawInsert> = []
    for (let i = 0; i < 500; i++) {
      rows.push(rawInsert(arena, rel, [String(i), "dropped", awkward[i % awkward.length]!, i % 7 ? null : "7"], "😀s"))
    }
    const got = rawInsertArrays(map, rows)
    expect(got.length).toBe(map.mapped.length)
    expect(got.map((b) => b.toString("hex"))).toEqual(decoded(map, rows).map((b) => b.toString("hex")))
  })

  it("keyless table, no NULL anywhere (the has-nulls flag stays 0), and a tuple shorter than the relation", () => {
    const rel = relation("log", ["a", "b", "c"])
    const t = target(["a", "b", "c"], [])
    const map = columnMap(rel, t)
    expect(map.mode).toBe("full-row")
    const arena = new RawArena(64 << 10)
    const full = [rawInsert(arena, rel, ["1", "x", "y"]), rawInsert(arena, rel, ["2", "", "z"])]
    const got = rawInsertArrays(map, full)
    expect(got.map((b) => b.readInt32BE(4))).toEqual([0, 0, 0])
    expect(got.map((b) => b.toString("hex"))).toEqual(decoded(map, full).map((b) => b.toString("hex")))
    const short = [rawInsert(arena, rel, ["3", "w"])]
    const [, , c] = rawInsertArrays(map, short)
    expect(c!.readInt32BE(4)).toBe(1)
    expect(c!.readInt32BE(20)).toBe(-1)
  })

  it("takes only raw inserts of one relation and one source", () => {
    const rel = relation("r", ["k"], { key: ["k"] })
    const other = relation("r2", ["k"], { key: ["k"] })
    const arena = new RawArena(64 << 10)
    const a = rawInsert(arena, rel, ["1"], "a")
    expect(rawInsertsOf([a, rawInsert(arena, rel, ["2"], "a")])).toHaveLength(2)
    expect(rawInsertsOf([a, rawInsert(arena, rel, ["2"], "b")])).toBeUndefined()
    expect(rawInsertsOf([a, rawInsert(arena, other, ["2"], "a")])).toBeUndefined()
    expect(rawInsertsOf([a, source("a").insert(rel, { k: "2" })])).toBeUndefined()
    expect(rawInsertsOf([])).toBeUndefined()
  })
})
