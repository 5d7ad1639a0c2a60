import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Change } from "../../../src/domain/Change.js"
import { historyTargetOf } from "../../../src/apply/history/HistoryTarget.js"
import { relation } from "../../support/changes.js"
import { HISTORY, historySource, openHistoryDb, type HistoryDb } from "../../support/historyChanges.js"

let db: HistoryDb
beforeAll(async () => {
  db = await openHistoryDb()
})
afterAll(() => db?.close())

const t4 = relation("t4", ["id", "name", "salary"], { key: ["id"] })

describe("HistoryApply targets", () => {
  it("names the table and column a history destination lacks or mistypes", async () => {
    await db.sql(`create table public.nolsn (id int, name text, kvsz_start timestamptz, kvsz_end timestamptz,
      kvsz_deleted boolean); create table public.biglsn (id int, kvsz_start timestamptz, kvsz_end timestamptz,
      kvsz_deleted boolean, kvsz_lsn bigint); create table public.naive (id int, kvsz_start timestamp,
      kvsz_end timestamptz, kvsz_deleted boolean, kvsz_lsn numeric)`)
    await expect(db.target("nolsn")).rejects.toThrow(/table public\.nolsn: history column "kvsz_lsn" is missing/)
    await expect(db.target("biglsn")).rejects.toThrow(/table public\.biglsn: history column "kvsz_lsn" has type bigint/)
    await expect(db.target("naive")).rejects.toThrow(
      /public\.naive: history column "kvsz_start" has type timestamp without/
    )
  })

  it("REPLICA IDENTITY FULL matches by the fed destination key; keyless tables take inserts only", async () => {
    await db.create("full")
    const full = relation("full", ["id", "name", "salary"], { identity: "f" })
    const s = historySource()
    const target = await db.target("full")
    expect(historyTargetOf(target, { history: HISTORY }, full).businessKey).toEqual(["id"])
    await db.apply(target, [
      s.insert(full, { id: "1", name: "a", salary: "1" }),
      s.insert(full, { id: "2", name: "b", salary: "1" })
    ])
    s.commit()
    await db.apply(target, [s.update(full, { id: "1", name: "c", salary: "1" }, { id: "1", name: "a", salary: "1" })])
    expect((await db.versions("full")).map((r) => [r.id, r.name, r.end === "open"])).toEqual([
      [1, "a", false],
      [1, "c", true],
      [2, "b", true]
    ])
    await db.sql(`create table public.heap (name text, kvsz_start timestamptz, kvsz_end timestamptz,
      kvsz_deleted boolean, kvsz_lsn numeric)`)
    const heap = relation("heap", ["name"], { identity: "f" })
    const h = await db.target("heap")
    expect(historyTargetOf(h, { history: HISTORY }, heap).businessKey).toEqual([])
    const inserts = [s.insert(heap, { name: "a" }), s.insert(heap, { name: "a" })]
    await db.apply(h, inserts)
    await db.apply(h, inserts)
    expect(await db.sql(`select count(*)::int as n from public.heap`)).toEqual([{ n: 2 }])
    await expect(db.apply(h, [s.delete(heap, { name: "a" })])).rejects.toThrow(
      /public\.heap: history mode cannot apply/
    )
  })
})

describe("HistoryApply volume", () => {
  it("applies 20,000 changes in a few statements", async () => {
    await db.create("vol", { sid: true })
    const target = await db.target("vol")
    const s = historySource("v")
    const batch: Array<Change> = []
    for (let i = 0; i < 8_000; i++) batch.push(s.insert(t4, { id: String(i), name: `n${i}`, salary: "0" }))
    s.commit()
    for (let i = 0; i < 8_000; i++) batch.push(s.update(t4, { id: String(i), salary: "1" }))
    s.commit()
    for (let i = 0; i < 4_000; i++) batch.push(s.delete(t4, { id: String(i * 2) }))
    const r = await db.apply(target, batch)
    expect(r.sent).toBeLessThanOrEqual(2)
    expect(r).toMatchObject({ written: 16_000, missed: 0 })
    expect(r.ms).toBeLessThan(10_000)
    expect(
      await db.sql(`select count(*)::int as versions, count(*) filter (where kvsz_deleted)::int as deleted,
        count(*) filter (where kvsz_end = '9999-01-01 00:00:00+00')::int as open,
        count(*) filter (where name is null)::int as lost from public.vol`)
    ).toEqual([{ versions: 16_000, deleted: 4_000, open: 4_000, lost: 0 }])
    s.commit()
    const next = await db.apply(
      target,
      Array.from({ length: 20_000 }, (_, i) => s.update(t4, { id: String(2 * (i % 4_000) + 1), salary: String(i) }))
    )
    expect(next.sent).toBeLessThanOrEqual(2)
    expect(next.written).toBe(24_000)
    expect(
      await db.sql(`select count(*)::int as open from public.vol where kvsz_end = '9999-01-01 00:00:00+00'`)
    ).toEqual([{ open: 4_000 }])
  })
})
