import { describe, expect, it } from "@effect/vitest"
import { RawArena } from "../../../src/decode/RawTuple.js"
import { RawInsert, RawTx } from "../../../src/domain/RawInsert.js"
import { targetSql } from "../../../src/apply/clone/ApplySql.js"
import { columnMap } from "../../../src/apply/ColumnMap.js"
import { copyField } from "../../../src/apply/clone/CopyInsert.js"
import { rawCopyText, rawLayout } from "../../../src/apply/clone/RawCopy.js"
import * as E from "../../support/PgOutputEncoder.js"
import { relation } from "../../support/changes.js"
import { target } from "../../support/plans.js"

type Value = string | null

/** a RawInsert as the dispatcher makes it: the TupleData of an encoded Insert message, copied into an arena */
const rawInsert = (arena: RawArena, rel: ReturnType<typeof relation>, values: ReadonlyArray<Value>, sid = "") => {
  const msg = E.insert(rel.oid, values)
  const at = arena.put(msg, 6, msg.length) // tag, relation oid, 'N'
  return new RawInsert(new RawTx(sid, "db/" + sid, 1n, 0n, undefined), rel, 1, arena.buf, at, at + msg.length - 6)
}

const text = (pieces: Iterable<Buffer>) => Buffer.concat([...pieces]).toString("utf8")

const awkward: ReadonlyArray<Value> = [
  "",
  null,
  "\\N",
  "tab\there",
  "new\nline\r\n",
  "back\\slash",
  "😀 é ü 中文",
  "\\\t\n\r",
  "x".repeat(70_000)
]

describe("RawCopy", () => {
  it("writes the same COPY text as the decoded path: source order, missing columns skipped, sid last", () => {
    const rel = relation("src", ["id", "gone", "note", "n"], { key: ["id"] })
    const t = target(["note", "sid", "extra", "id", "n"], ["sid", "id"])
    const map = columnMap(rel, t)
    const layout = rawLayout(map, targetSql(t))
    expect(layout.names).toBe('"id", "note", "n", "sid"')
    const arena = new RawArena(64 << 10)
    const rows: Array<ReadonlyArray<Value>> = []
    for (let i = 0; i < 3_000; i++) rows.push([String(i), "dropped", awkward[i % awkward.length]!, i % 7 ? null : "7"])
    const sids = ["a", "b\tc", "😀"]
    const raws = rows.map((r, i) => rawInsert(arena, rel, r, sids[i % 3]))
    const expected = rows
      .map((r, i) => [r[0], r[2], r[3], sids[i % 3]].map((v) => copyField(v)).join("\t") + "\n")
      .join("")
    const pieces = [...rawCopyText(layout, raws)]
    expect(pieces.length).toBeGreaterThan(1)
    expect(text(pieces)).toBe(expected)
    expect(raws.map((r) => r.newTuple)).toEqual(rows)
  })

  it("writes a target without sid and a row larger than a piece", () => {
    const rel = relation("plain", ["k", "v"], { key: ["k"] })
    const t = target(["k", "v"], ["k"])
    const layout = rawLayout(columnMap(rel, t), targetSql(t))
    const big = "é".repeat(100_000)
    const raws = [rawInsert(new RawArena(1024), rel, ["1", big]), rawInsert(new RawArena(1024), rel, ["2", null])]
    expect(text(rawCopyText(layout, raws))).toBe(`1\t${big}\n2\t\\N\n`)
  })

  it("arena slabs are never overwritten while rows point into them", () => {
    const arena = new RawArena(256)
    const src = Buffer.alloc(300)
    const kept: Array<{ buf: Buffer; at: number; n: number; fill: number }> = []
    for (let i = 0; i < 500; i++) {
      const n = (i * 7) % 50
      src.fill(i % 256, 0, n)
      const at = arena.put(src, 0, n)
      kept.push({ buf: arena.buf, at, n, fill: i % 256 })
    }
    for (const k of kept) for (let j = 0; j < k.n; j++) expect(k.buf[k.at + j]).toBe(k.fill)
  })
})
