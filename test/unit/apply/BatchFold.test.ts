import { describe, expect, it } from "@effect/vitest"
import { foldBatch } from "../../../src/apply/clone/BatchFold.js"
import { columnMap } from "../../../src/apply/ColumnMap.js"
import { relation, source } from "../../support/changes.js"
import { show, target } from "../../support/plans.js"

const t1 = relation("t1", ["id", "name", "salary"], { key: ["id"] })
const t6 = relation("t6", ["id", "name", "longvalue"], { key: ["id"] })
const t2 = relation("t2", ["id", "name", "salary", "extra"], { identity: "f" })

describe("BatchFold keyed", () => {
  const dst = target(["id", "name", "salary"], ["id"])

  it("folds insert, update, delete of one key into a delete", () => {
    const s = source()
    const plan = foldBatch(dst, [
      s.insert(t1, { id: "1", name: "r1", salary: null }),
      s.update(t1, { id: "1", name: "x1", salary: "10" }),
      s.delete(t1, { id: "1" })
    ])
    expect(show(dst, plan)).toEqual([{ Delete: [{ id: "1" }] }])
  })

  it("folds inserts and updates of many keys into one upsert, last value wins", () => {
    const s = source()
    const plan = foldBatch(dst, [
      s.insert(t1, { id: "1", name: "r1", salary: null }),
      s.insert(t1, { id: "2", name: "r2", salary: null }),
      s.update(t1, { id: "1", name: "x1", salary: "5" }),
      s.update(t1, { id: "3", name: "r3", salary: "7" })
    ])
    expect(show(dst, plan)).toEqual([
      {
        Upsert: [
          { id: "1", name: "x1", salary: "5" },
          { id: "2", name: "r2", salary: null },
          { id: "3", name: "r3", salary: "7" }
        ]
      }
    ])
  })

  it("delete then insert of a key is an upsert; deletes come first", () => {
    const s = source()
    const plan = foldBatch(dst, [
      s.delete(t1, { id: "1" }),
      s.insert(t1, { id: "1", name: "again", salary: null }),
      s.delete(t1, { id: "2" })
    ])
    expect(show(dst, plan)).toEqual([{ Delete: [{ id: "2" }] }, { Upsert: [{ id: "1", name: "again", salary: null }] }])
  })

  it("a key change with a complete row is delete(old) + upsert(new); re-inserting the old key keeps both", () => {
    const s = source()
    const plan = foldBatch(dst, [
      s.update(t1, { id: "5", name: "r1", salary: null }, { id: "1" }),
      s.insert(t1, { id: "1", name: "new1", salary: null })
    ])
    expect(show(dst, plan)).toEqual([
      {
        Upsert: [
          { id: "1", name: "new1", salary: null },
          { id: "5", name: "r1", salary: null }
        ]
      }
    ])
  })

  it("chains key changes 1 -> 5 -> 6 inside the batch", () => {
    const s = source()
    const plan = foldBatch(dst, [
      s.insert(t1, { id: "1", name: "r1", salary: null }),
      s.update(t1, { id: "5", name: "r1", salary: null }, { id: "1" }),
      s.update(t1, { id: "6", name: "r1", salary: "3" }, { id: "5" }),
      s.insert(t1, { id: "1", name: "new1", salary: null })
    ])
    expect(show(dst, plan)).toEqual([
      { Delete: [{ id: "5" }] },
      {
        Upsert: [
          { id: "1", name: "new1", salary: null },
          { id: "6", name: "r1", salary: "3" }
        ]
      }
    ])
  })

  it("keeps unchanged TOAST columns out of partial rows and merges successive partial updates", () => {
    const d6 = target(["id", "name", "longvalue"], ["id"])
    const s = source()
    const plan = foldBatch(d6, [
      s.update(t6, { id: "1", name: "no-toast" }),
      s.update(t6, { id: "2", longvalue: "big" }),
      s.update(t6, { id: "2", name: "n2" }),
      s.update(t6, { id: "3", name: "n3" })
    ])
    expect(show(d6, plan)).toEqual([
      { Upsert: [{ id: "2", name: "n2", longvalue: "big" }] },
      {
        Patch: [
          { id: "1", name: "no-toast" },
          { id: "3", name: "n3" }
        ]
      }
    ])
  })

  it("fills unchanged TOAST columns from a full row of the same batch", () => {
    const d6 = target(["id", "name", "longvalue"], ["id"])
    const s = source()
    const plan = foldBatch(d6, [
      s.insert(t6, { id: "1", name: "toast", longvalue: "L" }),
      s.update(t6, { id: "1", name: "x" })
    ])
    expect(show(d6, plan)).toEqual([{ Upsert: [{ id: "1", name: "x", longvalue: "L" }] }])
  })

  it("moves the destination row for a key change with unchanged TOAST columns", () => {
    const d6 = target(["id", "name", "longvalue"], ["id"])
    const s = source()
    const plan = foldBatch(d6, [
      s.update(t6, { id: "2", name: "a" }),
      s.update(t6, { id: "5", name: "r1" }, { id: "1" }),
      s.update(t6, { id: "7", name: "r7" }, { id: "2" }),
      s.insert(t6, { id: "1", name: "new1", longvalue: null })
    ])
    expect(show(d6, plan)).toEqual([
      // 1 -> 5 commutes with the pending patch of 2, so it runs first
      { Move: [{ from: { id: "1" }, to: { id: "5", name: "r1" } }] },
      { Patch: [{ id: "2", name: "a" }] },
      // 2 -> 7 must see the patch of 2: a new segment
      { Move: [{ from: { id: "2" }, to: { id: "7", name: "r7" } }] },
      { Upsert: [{ id: "1", name: "new1", longvalue: null }] }
    ])
  })

  it("batches independent moves and splits chained ones", () => {
    const d6 = target(["id", "name", "longvalue"], ["id"])
    const s = source()
    const plan = foldBatch(d6, [
      s.update(t6, { id: "11", name: "a" }, { id: "1" }),
      s.update(t6, { id: "12", name: "b" }, { id: "2" }),
      s.update(t6, { id: "13", name: "c" }, { id: "11" })
    ])
    expect(show(d6, plan)).toEqual([
      {
        Move: [
          { from: { id: "1" }, to: { id: "11", name: "a" } },
          { from: { id: "2" }, to: { id: "12", name: "b" } }
        ]
      },
      { Move: [{ from: { id: "11" }, to: { id: "13", name: "c" } }] }
    ])
  })

  it("takes an unchanged TOASTed key value from the old key tuple", () => {
    const d6 = target(["id", "name", "longvalue"], ["id"])
    const s = source()
    const plan = foldBatch(d6, [s.update(t6, { name: "x" }, { id: "1" })])
    expect(show(d6, plan)).toEqual([{ Patch: [{ id: "1", name: "x" }] }])
  })

  it("keys rows by sid when the target has a sid column, and not otherwise", () => {
    const withSid = target(["sid", "id", "name", "salary"], ["sid", "id"])
    const a = source("a")
    const b = source("b")
    const batch = [
      a.insert(t1, { id: "1", name: "a1", salary: null }),
      b.insert(t1, { id: "1", name: "b1", salary: null }),
      a.update(t1, { id: "1", name: "a2", salary: null })
    ]
    expect(show(withSid, foldBatch(withSid, batch))).toEqual([
      {
        Upsert: [
          { sid: "a", id: "1", name: "a2", salary: null },
          { sid: "b", id: "1", name: "b1", salary: null }
        ]
      }
    ])
    expect(show(dst, foldBatch(dst, batch))).toEqual([{ Upsert: [{ id: "1", name: "a2", salary: null }] }])
  })

  it("splits at truncate; without sid the steps before it are dropped", () => {
    const withSid = target(["sid", "id", "name", "salary"], ["sid", "id"])
    const a = source("a")
    const b = source("b")
    const batch = [
      a.insert(t1, { id: "1", name: "a1", salary: null }),
      b.insert(t1, { id: "1", name: "b1", salary: null }),
      a.truncate(t1),
      a.insert(t1, { id: "2", name: "a2", salary: null })
    ]
    expect(show(withSid, foldBatch(withSid, batch))).toEqual([
      {
        Upsert: [
          { sid: "a", id: "1", name: "a1", salary: null },
          { sid: "b", id: "1", name: "b1", salary: null }
        ]
      },
      { Truncate: "a" },
      { Upsert: [{ sid: "a", id: "2", name: "a2", salary: null }] }
    ])
    expect(show(dst, foldBatch(dst, batch))).toEqual([
      { Truncate: null },
      { Upsert: [{ id: "2", name: "a2", salary: null }] }
    ])
  })

  it("append mode drops deletes and truncates but still moves re-keyed rows", () => {
    const s = source()
    const plan = foldBatch(
      dst,
      [
        s.insert(t1, { id: "1", name: "r1", salary: null }),
        s.delete(t1, { id: "1" }),
        s.truncate(t1),
        s.update(t1, { id: "5", name: "r2", salary: null }, { id: "2" })
      ],
      "append"
    )
    expect(plan.skipped).toBe(2)
    expect(show(dst, plan)).toEqual([
      { Delete: [{ id: "2" }] },
      {
        Upsert: [
          { id: "1", name: "r1", salary: null },
          { id: "5", name: "r2", salary: null }
        ]
      }
    ])
  })

  it("maps a column subset: source-only columns dropped, destination extras unwritten", () => {
    const narrow = target(["id", "name", "created"], ["id"])
    const plan = foldBatch(narrow, [source().insert(t1, { id: "1", name: "r1", salary: "9" })])
    expect(show(narrow, plan)).toEqual([{ Upsert: [{ id: "1", name: "r1" }] }])
  })

  it("splits when the relation changes shape mid-batch", () => {
    const t1b = relation("t1", ["id", "name"], { key: ["id"] })
    const s = source()
    const plan = foldBatch(dst, [
      s.insert(t1, { id: "1", name: "a", salary: "1" }),
      s.insert(t1b, { id: "2", name: "b" })
    ])
    expect(show(dst, plan)).toEqual([
      { Upsert: [{ id: "1", name: "a", salary: "1" }] },
      { Upsert: [{ id: "2", name: "b" }] }
    ])
  })

  it("uses the destination key for REPLICA IDENTITY FULL tables that have one, filling TOAST from the old image", () => {
    const keyed = target(["id", "name", "salary", "extra"], ["id"])
    expect(columnMap(t2, keyed).mode).toBe("keyed")
    const s = source()
    const plan = foldBatch(keyed, [
      s.update(t2, { id: "5", name: "r1", salary: "2" }, { id: "1", name: "r1", salary: null, extra: "big" })
    ])
    expect(show(keyed, plan)).toEqual([
      { Delete: [{ id: "1" }] },
      { Upsert: [{ id: "5", name: "r1", salary: "2", extra: "big" }] }
    ])
  })
})
