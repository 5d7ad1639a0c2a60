import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { openApplyDb, type ApplyDb } from "../../support/applyDb.js"
import { relation, source } from "../../support/changes.js"

let db: ApplyDb
beforeAll(async () => {
  db = await openApplyDb()
  await db.sql(`create schema src;
    create type public.mood as enum ('sad', 'ok', 'happy');
    create domain public.posint as int check (value > 0);
    create type public.complex as (r float8, i float8)`)
})
afterAll(() => db?.close())

const TYPES = `t text, vc varchar(40), ch char(5), n numeric, n2 numeric(10,2), f8 float8, f4 real, i8 bigint, i2 smallint,
  bo boolean, ia int[], ta text[], j json, jb jsonb, b bytea, ts timestamp(3), tz timestamptz, dt date, tm time, ttz timetz,
  iv interval, u uuid, ip inet, cid cidr, mac macaddr, m public.mood, d public.posint, c public.complex, bits bit(3),
  vb varbit, pt point, bx box, ln line, pg polygon, x xml, mo money, tsv tsvector, tq tsquery, rg int4range, l pg_lsn`
const NAMES = TYPES.split(",")
  .map((c) => c.trim().split(" ")[0])
  .filter((c) => /^[a-z]/.test(c!))
  .join(", ")

const AWKWARD = `'it''s "q" \\ back\\\\slash' || E'\\t tab \\n newline \\r cr' || ' 😀 NULL {a,b}', 'NULL', 'ab',
  'NaN', 1.25, 'NaN', '-Infinity', 9223372036854775807, -32768, true, '{1,NULL,3}',
  array['a,b', null, 'NULL', 'q"uote', 'back\\slash', '', ' sp ', '{}'], '{"a": 1,  "a": [2, "x\\"y"]}', '{"k": "v\\u00e9"}',
  '\\xdeadbeef00', '2023-01-02 01:02:03.123', '2023-01-02 01:02:03.123456+02', 'infinity', '24:00:00', '12:34:56.123+02',
  '1 year 2 mons 3 days 04:05:06.789', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '::ffff:1.2.3.4/96', '192.168.0.0/16',
  '08:00:2b:01:02:03', 'happy', 7, '(1.5,"-0")', '101', '', '(1,2)', '(1,1),(4,4)', '{1,2,3}', '((1,1),(2,1),(4,4))',
  '<foo a="1">bar &amp; baz</foo>', 123.12, 'a fat cat sat on a mat', 'fat & rat', '[1,10)', '16/B374D848'`

const same = async (a: string, b: string) => {
  const rows = (t: string) => db.sql(`select r::text as row from ${t} r order by 1`)
  expect(await rows(b)).toEqual(await rows(a))
}

describe("CloneApply values round-trip through their text input functions", () => {
  for (const identity of ["key", "full"] as const) {
    it(`awkward values of every kind (${identity === "key" ? "keyed" : "REPLICA IDENTITY FULL, matched by full image"})`, async () => {
      const name = `vals_${identity}`
      const key = identity === "key" ? " primary key" : ""
      await db.sql(
        `create table src.${name} (id int${key}, ${TYPES}); create table public.${name} (id int${key}, ${TYPES})`
      )
      if (identity === "full") await db.sql(`alter table src.${name} replica identity full`)
      const cap = await db.capture("src", name)
      const target = await db.target("public", name)
      await db.sql(`insert into src.${name} (id) values (1), (2)`)
      await db.sql(`update src.${name} set (${NAMES}) = (${AWKWARD}) where id = 1`)
      if (db.server.version >= 14)
        await db.sql(`update src.${name} set n = 'Infinity', f8 = '-Infinity', f4 = 'Infinity' where id = 2`)
      await db.apply(target, await cap.read())
      await same(`src.${name}`, `public.${name}`)
      await db.sql(`update src.${name} set id = 3, f8 = '-0' where id = 1; update src.${name} set t = null where id = 3;
        update src.${name} set ta = ta || array['x'], j = '[]' where id = 3; delete from src.${name} where id = 2`)
      await db.apply(target, await cap.read())
      await same(`src.${name}`, `public.${name}`)
    })
  }

  it("applies the column's assignment coercion: rounding, padding, and an error for too long values", async () => {
    await db.sql(`create table public.narrow (id int primary key, vc varchar(3), ch char(5), n numeric(10,2), b bit(3),
      ts timestamp(0), a varchar(2)[])`)
    const target = await db.target("public", "narrow")
    const rel = relation("narrow", ["id", "vc", "ch", "n", "b", "ts", "a"], { key: ["id"] })
    const s = source()
    const row = { id: "1", vc: "abc", ch: "ab", n: "1.005", b: "101", ts: "2023-01-01 01:02:03.6", a: "{ab,NULL}" }
    await db.apply(target, [s.insert(rel, row)])
    expect(await db.sql("select vc, ch, n::text, b::text, ts::text, a::text from public.narrow")).toEqual([
      { vc: "abc", ch: "ab   ", n: "1.01", b: "101", ts: "2023-01-01 01:02:04", a: "{ab,NULL}" }
    ])
    const failure = await db.apply(target, [s.update(rel, { ...row, vc: "abcd" })]).catch((e: unknown) => e)
    expect(failure).toMatchObject({ transient: false, sqlState: "22001" })
    expect(String((failure as Error).message)).toMatch(
      /^walferry: table public\.narrow: 22001 string_data_right_truncation: /
    )
  })
})

describe("CloneApply bulk", () => {
  const fill = (
    table: string
  ) => `insert into src.${table} select g, 'n' || g, g * 1.5, repeat('x', 20) from generate_series(1, 40000) g;
    update src.${table} set name = name || 'u' where id % 20 in (0, 1, 2); delete from src.${table} where id % 10 = 5`

  it("applies 50,000 changes to a keyed table in a handful of statements", async () => {
    await db.sql(`create table src.big (id int primary key, name text, n numeric, payload text);
      create table public.big (like src.big including all)`)
    const cap = await db.capture("src", "big")
    await db.sql(fill("big"))
    const batch = await cap.read()
    expect(batch).toHaveLength(50_000)
    const r = await db.apply(await db.target("public", "big"), batch)
    console.log(`keyed 50k changes: ${r.sent} statements, ${r.ms.toFixed(0)} ms`)
    expect(r.sent).toBe(r.statements)
    expect(r.sent).toBeLessThanOrEqual(4)
    await same("src.big", "public.big")
    const again = await db.apply(await db.target("public", "big"), batch)
    console.log(`keyed 50k changes replayed: ${again.sent} statements, ${again.ms.toFixed(0)} ms`)
    await same("src.big", "public.big")
  })

  it("applies 50,000 changes to a keyless REPLICA IDENTITY FULL table in a handful of statements", async () => {
    await db.sql(`create table src.bigf (id int, name text, n numeric, payload text); alter table src.bigf replica identity full;
      create table public.bigf (like src.bigf)`)
    const cap = await db.capture("src", "bigf")
    await db.sql(fill("bigf"))
    const batch = await cap.read()
    const r = await db.apply(await db.target("public", "bigf"), batch)
    console.log(`full-row 50k changes: ${r.sent} statements, ${r.ms.toFixed(0)} ms`)
    expect(r.sent).toBeLessThanOrEqual(4)
    await same("src.bigf", "public.bigf")
  })
})
