import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { randomBytes } from "node:crypto"
import type { Change } from "../../../src/domain/Change.js"
import { openApplyDb, type ApplyDb } from "../../support/applyDb.js"
import { relation, source } from "../../support/changes.js"

let db: ApplyDb
beforeAll(async () => {
  db = await openApplyDb()
  await db.sql("create schema src; create schema src2")
})
afterAll(() => db?.close())

/** runs `action` on the source, applies what it captured, and returns source and destination rows */
const propagate = async (
  cap: { read: () => Promise<Array<Change>> },
  dst: string,
  action: string,
  src: string,
  out: string
) => {
  await db.sql(action)
  const batch = await cap.read()
  await db.apply(await db.target("public", dst), batch)
  return { source: await db.sql(src), destination: await db.sql(out) }
}

describe("CloneApply keyed (kuvasz 20-clone)", () => {
  it("propagates insert, update, key update and delete per sid, and replays the history idempotently", async () => {
    await db.sql(`create table src.t1 (id serial primary key, name text, salary int, garbage date);
      create table public.t1 (sid text, id int, name text, salary int, primary key (sid, id))`)
    const cap = await db.capture("src", "t1", "12")
    const history: Array<Change> = []
    const read = async () => {
      const batch = await cap.read()
      history.push(...batch)
      return batch
    }
    for (const action of [
      "insert into src.t1 (name) values ('r1')",
      "insert into src.t1 (name) values ('r2')",
      "update src.t1 set name = 'x1' where id = 1",
      "update src.t1 set id = 5 where id = 1",
      "update src.t1 set salary = 7 where id = 5",
      "delete from src.t1 where id = 5"
    ]) {
      const r = await propagate(
        { read },
        "t1",
        action,
        "select id, name, salary from src.t1 order by id",
        "select id, name, salary from public.t1 where sid = '12' order by id"
      )
      expect(r.destination).toEqual(r.source)
    }
    const target = await db.target("public", "t1")
    await db.apply(target, history)
    await db.apply(target, history.slice(0, 4))
    await db.apply(target, history.slice(4))
    expect(await db.sql("select sid, id, name, salary from public.t1 order by id")).toEqual([
      { sid: "12", id: 2, name: "r2", salary: null }
    ])
  })

  it("replayed inserts neither fail nor duplicate, with or without a destination key", async () => {
    await db.sql(`create table public.k1 (id int primary key, name text); create table public.k0 (id int, name text)`)
    const rel = relation("k", ["id", "name"], { key: ["id"] })
    const s = source()
    const batch = [s.insert(rel, { id: "1", name: "a" }), s.insert(rel, { id: "2", name: "b" })]
    for (const name of ["k1", "k0"]) {
      const target = await db.target("public", name)
      await db.apply(target, batch)
      await db.apply(target, batch)
      expect(await db.sql(`select id, name from public.${name} order by id`)).toEqual([
        { id: 1, name: "a" },
        { id: 2, name: "b" }
      ])
    }
  })

  it("an update of a missing row inserts it; a delete of a missing row is counted as missed", async () => {
    await db.sql(`create table public.m1 (id int primary key, name text, note text)`)
    const target = await db.target("public", "m1")
    const rel = relation("m", ["id", "name", "note"], { key: ["id"] })
    const s = source()
    const r = await db.apply(target, [
      s.update(rel, { id: "1", name: "full", note: "n" }),
      s.update(rel, { id: "2", name: "partial" }),
      s.delete(rel, { id: "3" })
    ])
    expect(r.missed).toBe(1)
    expect(await db.sql("select id, name, note from public.m1 order by id")).toEqual([
      { id: 1, name: "full", note: "n" },
      { id: 2, name: "partial", note: null }
    ])
  })

  it("two sids share a table keyed (sid, id); a truncate removes one sid only", async () => {
    await db.sql(`create table src2.t1 (id serial primary key, name text, salary int, garbage date);
      create table public.t1s (sid text, id int, name text, salary int, primary key (sid, id));
      create table src.t1s (like src2.t1 including all)`)
    const a = await db.capture("src", "t1s", "a")
    const b = await db.capture("src2", "t1", "b")
    await db.sql(`insert into src.t1s (name) select 'a' || g from generate_series(1, 3) g;
      insert into src2.t1 (name) select 'b' || g from generate_series(1, 3) g; update src.t1s set salary = 1`)
    const target = await db.target("public", "t1s")
    await db.apply(target, [...(await a.read()), ...(await b.read())])
    expect(await db.sql("select count(*)::int as n from public.t1s")).toEqual([{ n: 6 }])
    await db.sql("truncate src2.t1; insert into src2.t1 (name) values ('again')")
    await db.apply(target, await b.read())
    expect(await db.sql("select sid, name, salary from public.t1s order by sid, id")).toEqual([
      { sid: "a", name: "a1", salary: 1 },
      { sid: "a", name: "a2", salary: 1 },
      { sid: "a", name: "a3", salary: 1 },
      { sid: "b", name: "again", salary: null }
    ])
  })

  it("a target without sid in its key takes the same key from two sids in one batch", async () => {
    await db.sql(`create table public.shared (sid text, id int primary key, name text)`)
    const rel = relation("shared", ["id", "name"], { key: ["id"] })
    const [a, b] = [source("a"), source("b")]
    await db.apply(await db.target("public", "shared"), [
      a.insert(rel, { id: "1", name: "a" }),
      b.insert(rel, { id: "1", name: "b" })
    ])
    expect(await db.sql("select sid, id, name from public.shared")).toEqual([{ sid: "b", id: 1, name: "b" }])
  })

  it("writes the common columns only; extra destination columns keep their defaults", async () => {
    await db.sql(`create table src.sub (id int primary key, name text, salary int, garbage date);
      create table public.sub (id int primary key, name text, loaded text default 'dflt', n int default 42)`)
    const cap = await db.capture("src", "sub")
    await db.sql(`insert into src.sub values (1, 'a', 10, now()), (2, 'b', 20, now());
      update src.sub set name = 'a2', salary = 11 where id = 1; update src.sub set id = 3 where id = 2`)
    await db.apply(await db.target("public", "sub"), await cap.read())
    expect(await db.sql("select * from public.sub order by id")).toEqual([
      { id: 1, name: "a2", loaded: "dflt", n: 42 },
      { id: 3, name: "b", loaded: "dflt", n: 42 }
    ])
  })

  it("quotes mixed-case and reserved identifiers everywhere", async () => {
    await db.sql(`create schema "Src Schema"; create schema "My Schema";
      create table "Src Schema"."Order" ("Id" int primary key, "select" text, "from" int, "user name" text, "a""b" text);
      create table "My Schema"."Order" ("Id" int primary key, "select" text, "from" int, "user name" text, "a""b" text)`)
    const cap = await db.capture("Src Schema", "Order")
    const target = await db.target("My Schema", "Order")
    await db.sql(`insert into "Src Schema"."Order" values (1, 's', 1, 'u', 'q'), (2, 't', 2, null, null);
      update "Src Schema"."Order" set "select" = 'x', "Id" = 10 where "Id" = 1;
      update "Src Schema"."Order" set "user name" = 'v' where "Id" = 2; delete from "Src Schema"."Order" where "Id" = 2;
      insert into "Src Schema"."Order" values (3, 'z', 3, 'w', 'e')`)
    await db.apply(target, await cap.read())
    await db.sql(`truncate "Src Schema"."Order"; insert into "Src Schema"."Order" values (4, 'four', 4, null, '"')`)
    await db.apply(target, await cap.read())
    expect(await db.sql(`select * from "My Schema"."Order"`)).toEqual(
      await db.sql(`select * from "Src Schema"."Order"`)
    )
  })

  it("append mode keeps rows deleted or truncated on the source", async () => {
    await db.sql(`create table src.t3 (id serial primary key, name text, salary int);
      create table public.t3 (id int primary key, name text, salary int)`)
    const cap = await db.capture("src", "t3")
    await db.sql(`insert into src.t3 (name) values ('r1'), ('r2'); update src.t3 set name = 'x1' where id = 1;
      update src.t3 set id = 5 where id = 1; delete from src.t3 where id = 5; truncate src.t3`)
    const r = await db.apply(await db.target("public", "t3"), await cap.read(), "append")
    expect(r.skipped).toBe(2)
    expect(await db.sql("select id, name from public.t3 order by id")).toEqual([
      { id: 2, name: "r2" },
      { id: 5, name: "x1" }
    ])
  })
})

describe("CloneApply unchanged TOAST (kuvasz 60-Toast)", () => {
  const t6 = relation("t6", ["id", "name", "longvalue"], { key: ["id"] })
  const long = randomBytes(10_000).toString("hex")

  it("leaves unchanged TOAST columns untouched, without a destination key", async () => {
    await db.sql("create table public.t6 (sid text, id int, name text, longvalue text)")
    const target = await db.target("public", "t6")
    const s = source("12")
    const rows = "select sid, id, name, longvalue = $1 as kept from public.t6"
    await db.apply(target, [s.insert(t6, { id: "1", name: "toast", longvalue: null })])
    await db.apply(target, [s.update(t6, { id: "1", name: "toast", longvalue: long })])
    await db.apply(target, [s.update(t6, { id: "1", name: "no-toast" })])
    expect(await db.sql(rows, [long])).toEqual([{ sid: "12", id: 1, name: "no-toast", kept: true }])
    await db.apply(target, [s.delete(t6, { id: "1" })])
    expect(await db.sql(rows, [long])).toEqual([])
  })

  it("moves a re-keyed row keeping its TOAST value, and a replay converges", async () => {
    await db.sql("create table public.t6k (id int primary key, name text, longvalue text)")
    const target = await db.target("public", "t6k")
    const s = source()
    await db.apply(target, [
      s.insert(t6, { id: "1", name: "a", longvalue: long }),
      s.insert(t6, { id: "2", name: "b", longvalue: "short" })
    ])
    const batch = [
      s.update(t6, { id: "5", name: "moved" }, { id: "1" }),
      s.insert(t6, { id: "1", name: "new", longvalue: "n" }),
      s.update(t6, { id: "3", name: "b3" }, { id: "2" }),
      s.update(t6, { id: "4" }, { id: "3" })
    ]
    const expected = [
      { id: 1, name: "new", lv: "n" },
      { id: 4, name: "b3", lv: "short" },
      { id: 5, name: "moved", lv: long }
    ]
    const rows = "select id, name, longvalue as lv from public.t6k order by id"
    const first = await db.apply(target, batch)
    expect(await db.sql(rows)).toEqual(expected)
    expect(first.sent).toBe(3)
    await db.apply(target, batch)
    expect(await db.sql(rows)).toEqual(expected)
  })
})
