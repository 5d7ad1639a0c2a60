import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Change } from "../../../src/domain/Change.js"
import { encodePosition, formatTime } from "../../../src/apply/history/HistoryFold.js"
import { relation } from "../../support/changes.js"
import { historySource, openHistoryDb, T0, type HistoryDb } from "../../support/historyChanges.js"

let db: HistoryDb
beforeAll(async () => {
  db = await openHistoryDb()
})
afterAll(() => db?.close())

const t4 = relation("t4", ["id", "name", "salary"], { key: ["id"] })

const time = (offsetUs: bigint) => String(T0 + offsetUs)
const SECOND = 1_000_000n

describe("HistoryApply (kuvasz 40-history)", () => {
  for (const sid of [true, false]) {
    it(`chains versions on insert, update, update, delete ${sid ? "with" : "without"} sid`, async () => {
      const table = sid ? "t4" : "d4"
      await db.create(table, { sid })
      const target = await db.target(table)
      const s = historySource(sid ? "12" : "")
      const step = async (...changes: Array<Change>) => {
        await db.apply(target, changes)
        s.commit()
      }
      await step(s.insert(t4, { id: "1", name: "r1", salary: null }))
      await step(s.insert(t4, { id: "2", name: "r2", salary: null }))
      expect(await db.versions(table)).toEqual([
        { id: 1, name: "r1", salary: null, start: time(0n), end: "open", deleted: false },
        { id: 2, name: "r2", salary: null, start: time(SECOND), end: "open", deleted: false }
      ])
      await step(s.update(t4, { id: "1", name: "x1", salary: null }))
      expect(await db.versions(table, "id = 1")).toEqual([
        { id: 1, name: "r1", salary: null, start: time(0n), end: time(2n * SECOND), deleted: false },
        { id: 1, name: "x1", salary: null, start: time(2n * SECOND), end: "open", deleted: false }
      ])
      await step(s.update(t4, { id: "1", name: "z1", salary: null }))
      const chained = [
        { id: 1, name: "r1", salary: null, start: time(0n), end: time(2n * SECOND), deleted: false },
        { id: 1, name: "x1", salary: null, start: time(2n * SECOND), end: time(3n * SECOND), deleted: false }
      ]
      expect(await db.versions(table, "id = 1")).toEqual([
        ...chained,
        { id: 1, name: "z1", salary: null, start: time(3n * SECOND), end: "open", deleted: false }
      ])
      await step(s.delete(t4, { id: "1" }))
      expect(await db.versions(table)).toEqual([
        ...chained,
        { id: 1, name: "z1", salary: null, start: time(3n * SECOND), end: time(4n * SECOND), deleted: true },
        { id: 2, name: "r2", salary: null, start: time(SECOND), end: "open", deleted: false }
      ])
      if (sid) expect(await db.sql(`select distinct sid from public.t4`)).toEqual([{ sid: "12" }])
    })
  }

  it("an update of key 1 leaves the open versions of keys 2 and 3 untouched (the kuvasz close-out bug)", async () => {
    await db.create("k3", { sid: true })
    const target = await db.target("k3")
    const s = historySource("a")
    const other = historySource("b")
    await db.apply(
      target,
      [1, 2, 3].map((id) => s.insert(t4, { id: String(id), name: `n${id}`, salary: "1" }))
    )
    await db.apply(target, [other.insert(t4, { id: "1", name: "b1", salary: "1" })])
    const before = await db.sql(`select * from public.k3 where not (sid = 'a' and id = 1) order by sid, id`)
    s.commit()
    const r = await db.apply(target, [s.update(t4, { id: "1", name: "m1", salary: "2" })])
    expect(r).toMatchObject({ written: 2, missed: 0 })
    expect(await db.sql(`select * from public.k3 where not (sid = 'a' and id = 1) order by sid, id`)).toEqual(before)
    expect(await db.sql(`select count(*)::int as n from public.k3 where kvsz_end = '9999-01-01 00:00:00+00'`)).toEqual([
      { n: 4 }
    ])
  })

  it("a key change closes the old key's version and opens the new key's", async () => {
    await db.create("kc")
    const target = await db.target("kc")
    const s = historySource()
    await db.apply(target, [
      s.insert(t4, { id: "1", name: "a", salary: "5" }),
      s.insert(t4, { id: "2", name: "b", salary: "6" })
    ])
    s.commit()
    await db.apply(target, [s.update(t4, { id: "5", name: "a", salary: "5" }, { id: "1" })])
    expect(await db.versions("kc")).toEqual([
      { id: 1, name: "a", salary: 5, start: time(0n), end: time(SECOND), deleted: false },
      { id: 2, name: "b", salary: 6, start: time(0n), end: "open", deleted: false },
      { id: 5, name: "a", salary: 5, start: time(SECOND), end: "open", deleted: false }
    ])
  })

  it("carries unchanged TOAST values over from the version it closes, in the batch and across batches", async () => {
    await db.create("toast")
    const target = await db.target("toast")
    const s = historySource()
    const big = "x".repeat(10_000)
    await db.apply(target, [s.insert(t4, { id: "1", name: big, salary: "1" }), s.update(t4, { id: "1", salary: "2" })])
    s.commit()
    await db.apply(target, [s.update(t4, { id: "1", salary: "3" })])
    s.commit()
    await db.apply(target, [
      s.update(t4, { id: "7", salary: "4" }, { id: "1" }),
      s.update(t4, { id: "7", salary: "5" })
    ])
    const rows = await db.versions("toast")
    expect(rows.map((r) => [r.id, r.salary, r.name === big, r.end === "open"])).toEqual([
      [1, 1, true, false],
      [1, 2, true, false],
      [1, 3, true, false],
      [7, 4, true, false],
      [7, 5, true, true]
    ])
    expect(rows[0].start).toBe(rows[0].end)
  })

  it("stores commit times exact to the microsecond and encodes positions in order", async () => {
    await db.create("micro")
    const target = await db.target("micro")
    const s = historySource("", T0 + 123_457n)
    const batch: Array<Change> = [s.insert(t4, { id: "1", name: "a", salary: null })]
    s.commit(1n)
    batch.push(s.update(t4, { id: "1", name: "b", salary: null }))
    s.commit(999_999n)
    batch.push(s.update(t4, { id: "1", name: "c", salary: null }))
    await db.apply(target, batch)
    expect((await db.versions("micro")).map((r) => [r.start, r.end])).toEqual([
      [time(123_457n), time(123_458n)],
      [time(123_458n), time(1_123_457n)],
      [time(1_123_457n), "open"]
    ])
    const [row] = await db.sql(`select kvsz_start::text as t from public.micro order by kvsz_start limit 1`)
    expect(row.t).toMatch(/\.123457\+00$/)
    expect(formatTime(-1n)).toBe("1969-12-31 23:59:59.999999+00")
    expect(encodePosition("numeric", 0x16_b374d848n, 3)).toBe(String((0x16_b374d848n << 32n) + 3n))
    expect(encodePosition("text", 0x16_b374d848n, 3)).toBe("00000016/B374D848/00000003")
  })
})

describe("HistoryApply replay", () => {
  /** a history touching every rule: same-transaction chains, key changes both ways, TOAST, delete, re-insert */
  const mixed = (sid = "s"): Array<Change> => {
    const s = historySource(sid)
    const out: Array<Change> = []
    out.push(s.insert(t4, { id: "1", name: "r1", salary: "1" }), s.insert(t4, { id: "2", name: "r2", salary: "2" }))
    out.push(s.update(t4, { id: "1", salary: "10" }))
    s.commit()
    out.push(s.update(t4, { id: "1", name: "x1", salary: "11" }), s.insert(t4, { id: "3", name: "r3", salary: "3" }))
    s.commit()
    out.push(s.update(t4, { id: "5", salary: "12" }, { id: "1" }), s.delete(t4, { id: "2" }))
    s.commit()
    out.push(s.insert(t4, { id: "2", name: "again", salary: null }), s.truncate(t4))
    out.push(s.update(t4, { id: "1", salary: "13" }, { id: "5" }), s.update(t4, { id: "3", name: "z3", salary: "30" }))
    s.commit()
    out.push(
      s.update(t4, { id: "3", salary: "31" }),
      s.delete(t4, { id: "1" }),
      s.insert(t4, { id: "1", name: "new", salary: null })
    )
    return out
  }

  const variants = [
    { lsn: "numeric", pk: undefined },
    { lsn: "text", pk: undefined },
    { lsn: "character varying(40)", pk: undefined },
    { lsn: "numeric", pk: null }
  ]
  for (const [n, { lsn, pk }] of variants.entries()) {
    const label = `${lsn}${pk === null ? ", no key index" : ""}`
    it(`re-applying the batch, or a split of it at any point, gives the same rows (${label})`, async () => {
      const name = `rp_${n}`
      await db.create(name, { sid: true, lsn, pk })
      const target = await db.target(name)
      const batch = mixed()
      await db.apply(target, batch)
      const once = await db.snapshot(name)
      const all = await db.sql(`select * from public.${name} order by kvsz_id`)
      for (let i = 0; i < 2; i++) {
        expect(await db.apply(target, batch)).toMatchObject({ written: 0, deleted: 0 })
        expect(await db.sql(`select * from public.${name} order by kvsz_id`)).toEqual(all)
      }
      expect(once.length).toBe(11)
      for (let i = 0; i <= batch.length; i++) {
        await db.sql(`truncate public.${name}`)
        await db.apply(target, batch.slice(0, i))
        await db.apply(target, batch.slice(i))
        expect(await db.snapshot(name), `split at ${i}`).toEqual(once)
        await db.sql(`truncate public.${name}`)
        await db.apply(target, batch.slice(0, i))
        await db.apply(target, batch)
        expect(await db.snapshot(name), `prefix ${i} then all`).toEqual(once)
      }
    })
  }

  it("TRUNCATE keeps every version", async () => {
    await db.create("tr")
    const target = await db.target("tr")
    const s = historySource()
    await db.apply(target, [s.insert(t4, { id: "1", name: "a", salary: null })])
    const r = await db.apply(target, [s.truncate(t4)])
    expect(r).toMatchObject({ statements: 0, skipped: 1 })
    expect(await db.sql(`select count(*)::int as n from public.tr`)).toEqual([{ n: 1 }])
  })
})
