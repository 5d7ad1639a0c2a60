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
})
