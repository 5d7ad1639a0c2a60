import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import type { Change } from "../../../src/domain/Change.js"
import { openApplyDb, type ApplyDb } from "../../support/applyDb.js"
import { relation, source } from "../../support/changes.js"

let db: ApplyDb
beforeAll(async () => {
  db = await openApplyDb()
  await db.sql("create schema src")
})
afterAll(() => db?.close())

const COLS = "id, name, salary, extra"
const ORDER = "order by id, name, salary, extra"

/** a REPLICA IDENTITY FULL source table without key, captured, and a keyless destination table */
const pair = async (name: string, sid?: string) => {
  await db.sql(`create table src.${name} (id int, name text, salary int, extra text);
    alter table src.${name} replica identity full;
    create table public.${name} (${sid === undefined ? "" : "sid text, "}id int, name text, salary int, extra text)`)
  const cap = await db.capture("src", name, sid)
  const target = await db.target("public", name)
  const history: Array<Change> = []
  const step = async (action: string) => {
    await db.sql(action)
    const batch = await cap.read()
    history.push(...batch)
    await db.apply(target, batch)
    return {
      source: await db.sql(`select ${COLS} from src.${name} ${ORDER}`),
      destination: await db.sql(
        `select ${COLS} from public.${name} ${sid === undefined ? "" : `where sid = '${sid}'`} ${ORDER}`
      )
    }
  }
  return { target, history, step }
}

/** applies the whole history in one batch to an empty copy of the destination and compares with the source */
const replayInOneBatch = async (name: string, history: ReadonlyArray<Change>) => {
  await db.sql(`create table public.${name}_one (like public.${name})`)
  const r = await db.apply(await db.target("public", `${name}_one`), history)
  expect(await db.sql(`select ${COLS} from public.${name}_one ${ORDER}`)).toEqual(
    await db.sql(`select ${COLS} from src.${name} ${ORDER}`)
  )
  return r
}

const KUVASZ_T2 = [
  "insert into src.T (id, name) values (1, 'r1')",
  "insert into src.T (id, name, extra) values (1, 'r1', 'foo')",
  "update src.T set id = 5 where id = 1",
  "update src.T set salary = 2 where id = 5 and extra = 'foo'",
  "update src.T set salary = 3, extra = 'bar' where extra is null",
  "delete from src.T where id = 5"
]

describe("CloneApply full-row (REPLICA IDENTITY FULL without key)", () => {
  it("t2 -> rt2 with sid: each statement gives what Postgres gives on the source", async () => {
    const { history, step } = await pair("rt2", "12")
    for (const action of KUVASZ_T2) {
      const r = await step(action.replace("src.T", "src.rt2"))
      expect(r.destination).toEqual(r.source)
    }
    await replayInOneBatch("rt2", history)
  })

  it("d2 -> rd2 without sid", async () => {
    const { step } = await pair("rd2")
    const sizes: Array<number> = []
    for (const action of KUVASZ_T2) {
      const r = await step(action.replace("src.T", "src.rd2"))
      expect(r.destination).toEqual(r.source)
      sizes.push(r.destination.length)
    }
    expect(sizes).toEqual([1, 2, 2, 2, 2, 0])
  })

  it("identical duplicate rows: one destination row per source change", async () => {
    const { history, step } = await pair("dup")
    const one = "ctid = (select min(ctid) from src.dup where id = 1)"
    for (const action of [
      "insert into src.dup (id, name) values (1, 'r1'), (1, 'r1'), (1, 'r1'), (2, null)",
      `update src.dup set salary = 9 where ${one}`,
      "update src.dup set id = 5 where id = 1",
      "update src.dup set salary = 4 where salary is null and id = 5",
      "insert into src.dup (id, name, salary) values (5, 'r1', 4)",
      "delete from src.dup where ctid = (select min(ctid) from src.dup where salary = 4)",
      "update src.dup set name = null where id = 5",
      "update src.dup set extra = 'e' where ctid in (select ctid from src.dup where id = 5 limit 2)"
    ]) {
      const r = await step(action)
      expect(r.destination).toEqual(r.source)
    }
    const r = await replayInOneBatch("dup", history)
    expect(r.sent).toBeLessThanOrEqual(8)
  })

  it("matches values of types without an equality operator (json, point) and NULLs", async () => {
    await db.sql(`create table src.odd (j json, p point, t text); alter table src.odd replica identity full;
      create table public.odd (j json, p point, t text)`)
    const cap = await db.capture("src", "odd")
    const target = await db.target("public", "odd")
    await db.sql(`insert into src.odd values ('{"a": 1,  "a": 2}', '(1,2)', null), (null, null, 'x'), ('[1]', '(1,2)', 'y');
      update src.odd set t = 'z' where t is null; update src.odd set j = '{}' where t = 'x'; delete from src.odd where t = 'y'`)
    await db.apply(target, await cap.read())
    const rows = (table: string) => db.sql(`select j::text, p::text, t from ${table} order by t`)
    expect(await rows("public.odd")).toEqual(await rows("src.odd"))
  })

  it("takes the right row in a partitioned destination (ctid repeats across partitions)", async () => {
    await db.sql(`create table src.part (id int, name text); alter table src.part replica identity full;
      create table public.part (id int, name text) partition by range (id);
      create table public.part_a partition of public.part for values from (0) to (10);
      create table public.part_b partition of public.part for values from (10) to (20)`)
    const cap = await db.capture("src", "part")
    await db.sql(`insert into src.part values (1, 'a'), (11, 'b'); update src.part set name = 'b2' where id = 11;
      update src.part set id = 12 where id = 1; delete from src.part where id = 11`)
    await db.apply(await db.target("public", "part"), await cap.read())
    expect(await db.sql("select id, name from public.part order by id")).toEqual([{ id: 12, name: "a" }])
  })

  it("counts changes that find no destination row as missed and inserts nothing", async () => {
    await db.sql("create table public.miss (id int, name text)")
    const rel = relation("miss", ["id", "name"], { identity: "f" })
    const s = source()
    const r = await db.apply(await db.target("public", "miss"), [
      s.update(rel, { id: "1", name: "b" }, { id: "1", name: "a" }),
      s.delete(rel, { id: "2", name: "c" })
    ])
    expect({ missed: r.missed, written: r.written }).toEqual({ missed: 2, written: 0 })
    expect(await db.sql("select * from public.miss")).toEqual([])
  })
})
