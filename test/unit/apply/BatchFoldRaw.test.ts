import { describe, expect, it } from "@effect/vitest"
import { PgOutputDecoder, type Delete, type Update } from "../../../src/decode/PgOutputDecoder.js"
import type { Change, RowChange } from "../../../src/domain/Change.js"
import { DELETE, UPDATE } from "../../../src/domain/Change.js"
import { RawTx } from "../../../src/domain/RawInsert.js"
import { RawRow } from "../../../src/domain/RawRow.js"
import { foldBatch } from "../../../src/apply/clone/BatchFold.js"
import { relation, source } from "../../support/changes.js"
import * as E from "../../support/PgOutputEncoder.js"
import { show, target } from "../../support/plans.js"
import { textArrayOf } from "../../../src/apply/TextArray.js"

/** the same change with its values decoded (what the fold sees without bytes) */
const decoded = (c: Change): Change =>
  c instanceof RawRow
    ? {
        _tag: "Row",
        op: c.op,
        sid: c.sid,
        source: c.source,
        relation: c.relation,
        lsn: c.lsn,
        seq: c.seq,
        commitTimeUs: c.commitTimeUs,
        newTuple: c.newTuple,
        oldTuple: c.oldTuple,
        oldKind: c.oldKind
      }
    : c

const t1 = relation("t1", ["id", "name", "salary"], { key: ["id"] })
const dst = target(["id", "name", "salary"], ["id"])

/** the same change with its tuples as pgoutput bytes (what the dispatcher queues) */
const raw = (c: RowChange): Change => {
  const decoder = new PgOutputDecoder()
  const tx = new RawTx(c.sid, c.source, c.lsn, c.commitTimeUs, undefined)
  const old = c.oldTuple === null ? undefined : { kind: c.oldKind!, values: [...c.oldTuple] }
  if (c.op === UPDATE) {
    const msg = decoder.decode(E.update(1, [...c.newTuple!], old)) as Update
    return new RawRow(tx, c.relation, c.seq, UPDATE, c.oldKind, msg)
  }
  const msg = decoder.decode(E.del(1, c.oldKind as "K", [...c.oldTuple!])) as Delete
  return new RawRow(tx, c.relation, c.seq, DELETE, c.oldKind, msg)
}

describe("BatchFold over changes still in bytes (RawRow)", () => {
  it("plans exactly as over decoded changes: hot keys, unchanged TOAST, key changes, deletes", () => {
    const s = source()
    const batch: Array<RowChange> = []
    for (let i = 0; i < 50; i++) batch.push(s.update(t1, { id: String(i % 4), name: `n${i}`, salary: String(i) }))
    batch.push(s.update(t1, { id: "1", salary: "toast kept" }))
    batch.push(s.update(t1, { id: "2", name: "unchanged TOAST, then complete" }))
    batch.push(s.update(t1, { id: "2", name: "complete", salary: "2" }))
    batch.push(s.update(t1, { id: "9", name: "moved", salary: "9" }, { id: "3" }))
    batch.push(s.delete(t1, { id: "0" }))
    batch.push(s.update(t1, { id: "0", name: "back", salary: null }))
    const plain = show(dst, foldBatch(dst, batch))
    const bytes = batch.map((c) => (c.op === UPDATE || c.op === DELETE ? raw(c) : c))
    expect(bytes.every((c) => c instanceof RawRow)).toBe(true)
    expect(show(dst, foldBatch(dst, bytes))).toEqual(plain)
    expect(plain).toEqual([
      { Delete: [{ id: "3" }] },
      {
        Upsert: [
          { id: "0", name: "back", salary: null },
          { id: "1", name: "n49", salary: "toast kept" },
          { id: "2", name: "complete", salary: "2" },
          { id: "9", name: "moved", salary: "9" }
        ]
      }
    ])
  })

  it("builds the values of the surviving change of a key only", () => {
    const s = source()
    const batch = [0, 1, 2].map((i) => raw(s.update(t1, { id: "7", name: `n${i}`, salary: String(i) })) as RawRow)
    const read: Array<number> = []
    batch.forEach((c, i) => {
      const get = Object.getOwnPropertyDescriptor(RawRow.prototype, "newTuple")!.get!
      Object.defineProperty(c, "newTuple", {
        get: () => {
          read.push(i)
          return get.call(c)
        }
      })
    })
    expect(show(dst, foldBatch(dst, batch))).toEqual([{ Upsert: [{ id: "7", name: "n2", salary: "2" }] }])
    expect(read).toEqual([2])
  })

  it("writes a complete step's parameters from the survivors' bytes, equal to those of its built rows", () => {
    // two partitions with their columns in different orders, into a target with one more column
    const p1 = relation("p1", ["id", "name", "salary"], { key: ["id"] })
    const p2 = relation("p2", ["salary", "id", "name"], { key: ["id"] })
    const withSid = target(["note", "id", "name", "salary"], ["id"])
    const s = source("é1")
    let built = 0
    const batch: Array<Change> = []
    const awkward = ["", null, "tab\t", "😀 ü", "x".repeat(300)]
    for (let i = 0; i < 40; i++) {
      const rel = i % 3 === 0 ? p2 : p1
      const row = { id: String(i % 25), name: awkward[i % awkward.length]!, salary: i % 4 ? String(i) : null }
      const c = i % 5 === 4 ? s.insert(rel, row) : s.update(rel, row)
      if (c.op !== UPDATE) {
        batch.push(c)
        continue
      }
      const bytes = raw(c)
      const get = Object.getOwnPropertyDescriptor(RawRow.prototype, "newTuple")!.get!
      Object.defineProperty(bytes, "newTuple", {
        get: () => {
          built++
          return get.call(bytes)
        }
      })
      batch.push(bytes)
    }
    const plan = foldBatch(withSid, batch)
    const step = plan.steps[0]!
    expect(plan.steps).toHaveLength(1)
    if (step._tag !== "Write" || !step.complete) throw new Error("expected a complete Write step")
    expect(step.count).toBe(25)
    const fromBytes = step.arrays().map((b) => b.toString("hex"))
    expect(built, "no survivor is built for the statement").toBe(0)
    const fromRows = step.columns.map((p) => textArrayOf(step.rows.length, (j) => step.rows[j]![p]).toString("hex"))
    expect(step.rows).toHaveLength(25)
    expect(built, "the survivors still in bytes are built on first read of rows").toBeGreaterThan(10)
    expect(fromBytes).toEqual(fromRows)
    expect(show(withSid, plan)).toEqual(
      show(
        withSid,
        foldBatch(
          withSid,
          batch.map((c) => decoded(c))
        )
      )
    )
  })
})
