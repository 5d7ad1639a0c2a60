/**
 * Insert-only batches of complete rows are written with one COPY; a key conflict rolls the transaction back
 * and applies the batch again by upsert, and the table keeps using the upsert for a while. The result is
 * always the source's rows.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { targetSql } from "../../../src/apply/clone/ApplySql.js"
import { copyInsert } from "../../../src/apply/clone/CopyInsert.js"
import { UPDATE, type Change } from "../../../src/domain/Change.js"
import type { Extend } from "../../../src/sink/Sink.js"
import { inTransaction } from "../../../src/sink/Transaction.js"
import { openApplyDb, type ApplyDb } from "../../support/applyDb.js"
import { latestVersion } from "../../support/versions.js"

let db: ApplyDb
beforeAll(async () => {
  db = await openApplyDb()
  await db.sql(`create schema src`)
})
afterAll(() => db?.close())

const COLUMNS = `t text, n numeric, f8 float8, ia int[], ta text[], jb jsonb, b bytea, tz timestamptz, u uuid, bo boolean`
/** numeric infinities exist from Postgres 14 on */
const NUMERIC_EDGE = latestVersion() >= 14 ? "'-Infinity'" : "'NaN'"
const VALUES = `case g % 4 when 0 then E'tab\\there\\nnew\\rcr \\\\ back' when 1 then '\\N' when 2 then 'NULL' else null end,
  case when g % 5 = 0 then 'NaN'::numeric else g * 1.25 end, case when g % 7 = 0 then ${NUMERIC_EDGE} else g / 3.0 end,
  array[g, null, 3], array['a,b', null, 'NULL', E'q"u\\\\o', ''], jsonb_build_object('k', E'v\\u00e9 😀', 'g', g),
  decode('deadbeef00', 'hex'), '2023-01-02 01:02:03.123456+02', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', g % 2 = 0`

const same = async (a: string, b: string) => {
  const rows = (t: string) => db.sql(`select r::text as row from ${t} r order by 1`)
  expect(await rows(b)).toEqual(await rows(a))
}

describe("CopyInsert fast path", () => {
  it("writes an insert-only batch of awkward values with one COPY", async () => {
    await db.sql(
      `create table src.ci (id int primary key, ${COLUMNS}); create table public.ci (like src.ci including all)`
    )
    const cap = await db.capture("src", "ci")
    await db.sql(`insert into src.ci select g, ${VALUES} from generate_series(1, 1000) g`)
    const r = await db.apply(await db.target("public", "ci"), await cap.read())
    expect(r.sent).toBe(1)
    expect(r.written).toBe(1000)
    expect(r.copied).toBe(1000)
    await same("src.ci", "public.ci")
  })

  it("falls back to the upsert when the destination already has some of the keys, then keeps upserting", async () => {
    await db.sql(`create table src.cc (id int primary key, ${COLUMNS}); create table public.cc (like src.cc including all);
      insert into public.cc (id, t) select g, 'stale' from generate_series(1, 1000, 100) g`)
    const cap = await db.capture("src", "cc")
    const target = await db.target("public", "cc")
    await db.sql(`insert into src.cc select g, ${VALUES} from generate_series(1, 1000) g`)
    const r = await db.apply(target, await cap.read())
    expect(r.sent).toBe(1) // the second attempt: the upsert
    expect(r.copied).toBe(0)
    expect(r.written).toBe(1000)
    await same("src.cc", "public.cc")
    await db.sql(`insert into src.cc select g, ${VALUES} from generate_series(1001, 2000) g`)
    const again = await db.apply(target, await cap.read())
    expect(again.sent).toBe(1)
    expect(again.copied).toBe(0)
    await same("src.cc", "public.cc")
  })

  it("copies inserts into a keyless REPLICA IDENTITY FULL table, and upserts small or mixed batches", async () => {
    await db.sql(`create table src.cf (id int, ${COLUMNS}); alter table src.cf replica identity full;
      create table public.cf (like src.cf); create table src.cs (id int primary key, t text);
      create table public.cs (like src.cs including all)`)
    const full = await db.capture("src", "cf")
    await db.sql(`insert into src.cf select g % 500, ${VALUES} from generate_series(1, 1000) g`)
    const r = await db.apply(await db.target("public", "cf"), await full.read())
    expect(r.sent).toBe(1)
    expect(r.copied).toBe(1000)
    await same("src.cf", "public.cf")

    const small = await db.capture("src", "cs")
    const target = await db.target("public", "cs")
    await db.sql(`insert into src.cs select g, 'x' from generate_series(1, 10) g`)
    expect((await db.apply(target, await small.read())).sent).toBe(1)
    await db.sql(
      `insert into src.cs select g, 'y' from generate_series(11, 1000) g; update src.cs set t = 'z' where id = 1`
    )
    const mixed = await db.apply(target, await small.read())
    expect(mixed.sent).toBe(1)
    expect(mixed.copied).toBe(0)
    await same("src.cs", "public.cs")
  })

  it("keeps a transaction atomic whether its first statement is a COPY (BEGIN sent with it) or not", async () => {
    await db.sql(`create table public.ta (id int primary key, t text)`)
    const t = targetSql(await db.target("public", "ta"))
    const rows = Array.from({ length: 300 }, (_, i) => [String(i), "x"])
    const boom = new Error("boom")
    await expect(
      inTransaction(db.client, async (tx) => {
        await copyInsert(tx, t, [0, 1], rows)
        await tx.query(`insert into public.ta values (1000, 'y')`)
        throw boom
      })
    ).rejects.toBe(boom)
    await expect(
      inTransaction(db.client, async (tx) => {
        await tx.query(`insert into public.ta values (1001, 'y')`)
        await copyInsert(tx, t, [0, 1], rows)
        throw boom
      })
    ).rejects.toBe(boom)
    expect(await db.sql(`select count(*)::int as n from public.ta`)).toEqual([{ n: 0 }])
    expect((await db.client.query(`select now() = statement_timestamp() as idle`)).rows).toEqual([{ idle: true }])

    const n = await inTransaction(db.client, async (tx) => {
      await copyInsert(tx, t, [0, 1], rows)
      return (await tx.query(`select count(*)::int as n, now() <> statement_timestamp() as in_tx from public.ta`))
        .rows[0]
    })
    expect(n).toEqual({ n: 300, in_tx: true })
    expect(await db.sql(`select count(*)::int as n from public.ta`)).toEqual([{ n: 300 }])
  })

  /** an Extend over `queue` that, like the table writer, moves what it hands out onto the batch */
  const extendFrom = (batch: Array<Change>, queue: Array<Change>, perCall: number): Extend => {
    let calls = 0
    return (accept, max) => {
      // every other call finds nothing new, as when the reader has not caught up yet
      if (calls++ % 2 === 1) return []
      let n = 0
      while (n < Math.min(max, perCall, queue.length) && accept(queue[n]!)) n++
      const more = queue.splice(0, n)
      batch.push(...more)
      return more
    }
  }

  it("streams further inserts of the relation into the open COPY, and stops at the first other change", async () => {
    await db.sql(`create table src.ce (id int primary key, t text); create table public.ce (like src.ce including all)`)
    const cap = await db.capture("src", "ce")
    await db.sql(`insert into src.ce select g, 'v' || g from generate_series(1, 2300) g`)
    await db.sql(`update src.ce set t = 'changed' where id = 5`)
    await db.sql(`insert into src.ce values (5000, 'after')`)
    const all = await cap.read()
    const batch = all.slice(0, 300)
    const queue = all.slice(300)
    const r = await db.apply(await db.target("public", "ce"), batch, "clone", extendFrom(batch, queue, 700))
    expect(r.sent).toBe(1)
    expect(r.copied).toBe(2300)
    expect(batch.length).toBe(2300)
    expect(queue).toHaveLength(2) // the update and the insert after it stay for the next batch
    expect(queue[0]).toMatchObject({ _tag: "Row", op: UPDATE })
    expect(await db.sql(`select count(*)::int as n, max(id) as m from public.ce`)).toEqual([{ n: 2300, m: 2300 }])
  })

  it("applies an extended batch by upsert, extension included, when a streamed row meets an existing key", async () => {
    await db.sql(`create table src.cx (id int primary key, t text); create table public.cx (like src.cx including all);
      insert into public.cx values (1500, 'stale')`)
    const cap = await db.capture("src", "cx")
    await db.sql(`insert into src.cx select g, 'v' || g from generate_series(1, 2000) g`)
    const all = await cap.read()
    const batch = all.slice(0, 300)
    const r = await db.apply(await db.target("public", "cx"), batch, "clone", extendFrom(batch, all.slice(300), 500))
    expect(r.copied).toBe(0)
    expect(r.written).toBe(2000)
    await same("src.cx", "public.cx")
  })
})
