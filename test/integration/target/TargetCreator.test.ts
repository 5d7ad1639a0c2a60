/**
 * Destination auto-create (clone, append, history, with and without sid; enum, domain, composite and
 * array types created first) and schema change (ADD COLUMN, dropped columns, retyped → SchemaMismatch).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit } from "effect"
import pg from "pg"
import type { TableMapping, TableMode } from "../../../src/config/Config.js"
import type { Relation } from "../../../src/domain/Relation.js"
import { describeSourceTable } from "../../../src/source/SourceCatalog.js"
import {
  addColumns,
  describeColumnTypes,
  ensureTargetTable,
  type CreateFailed
} from "../../../src/target/TargetCreator.js"
import { describeTargetTable, type TargetTable } from "../../../src/target/TargetCatalog.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"

const SOURCE_DDL = `
  create schema app;
  create type app."Mood" as enum ('ok', 'it''s', 'back\\slash', '\\N', 'tab	x', '😀');
  create domain app.positive as numeric(10,2) not null check (value > 0);
  create type app.complex as (r float8, i float8, m app."Mood");
  create table app.t (
    id integer generated always as identity primary key,
    s bigserial,
    name varchar(20) not null default 'x',
    moods app."Mood"[],
    c app.complex,
    p app.positive,
    grid int[][],
    g integer generated always as (id * 2) stored
  );
  create table app.parted (id int, k text not null, v text) partition by list (k);
  create table app.parted_a partition of app.parted for values in ('a');
  create unique index parted_idx on app.parted_a (k);
  create table app.nokey (a int, b text);
  alter table app.nokey replica identity full;
  create table app.rix (a int not null, b text not null, c text);
  create unique index rix_ab on app.rix (b, a);
  alter table app.rix replica identity using index rix_ab;`

const HISTORY = { start: "kvsz_start", end: "kvsz_end", deleted: "kvsz_deleted", lsn: "kvsz_lsn" }

const mapping = (name: string, target: string, mode: TableMode = "clone", autoCreate = true): TableMapping => ({
  schema: "app",
  name,
  mode,
  target,
  partitionsRegex: undefined,
  autoCreate,
  history: HISTORY
})

describe("TargetCreator", () => {
  let server: TestPg
  let src: pg.Client
  let dst: pg.Client

  beforeAll(async () => {
    server = await startTestPg({ version: latestVersion() })
    await server.createDatabase("src")
    await server.createDatabase("dst")
    await server.query(SOURCE_DDL, [], "src")
    await server.query("create schema out", [], "dst")
    src = new pg.Client({ connectionString: server.url("src") })
    dst = new pg.Client({ connectionString: server.url("dst") })
    await src.connect()
    await dst.connect()
  })

  afterAll(async () => {
    await src?.end()
    await dst?.end()
    await server?.stop()
  })

  const source = async (name: string) => (await Effect.runPromise(describeSourceTable(src, "app", name)))!
  const ensure = async (m: TableMapping, multiSource = false) =>
    Effect.runPromise(ensureTargetTable(dst, "out", m, await source(m.name), multiSource))
  const ensureExit = async (m: TableMapping, multiSource = false) =>
    Effect.runPromiseExit(ensureTargetTable(dst, "out", m, await source(m.name), multiSource))
  const shape = (t: TargetTable) => t.columns.map((c) => [c.name, c.typeName, c.notNull, c.hasDefault])
  const failure = <E>(exit: Exit.Exit<unknown, E>): E => {
    if (Exit.isSuccess(exit) || exit.cause._tag !== "Fail") throw new Error(`expected a failure, got ${String(exit)}`)
    return exit.cause.error
  }

  it("clone: creates the types first, then the table with the same columns, NOT NULL kept, no defaults", async () => {
    const { created, table } = await ensure(mapping("t", "t_clone"))
    expect(created).toBe(true)
    expect(shape(table)).toEqual([
      ["id", "integer", true, false],
      ["s", "bigint", true, false],
      ["name", "character varying(20)", true, false],
      ["moods", '"out"."Mood"[]', false, false],
      ["c", '"out".complex', false, false],
      ["p", '"out".positive', false, false],
      ["grid", "integer[]", false, false],
      ["g", "integer", false, false]
    ])
    expect(table.primaryKey).toEqual(["id"])
    const labels = await server.query(
      `select array_agg(enumlabel::text order by enumsortorder) l
       from pg_enum where enumtypid = '"out"."Mood"'::regtype`,
      [],
      "dst"
    )
    expect(labels[0].l).toEqual(["ok", "it's", "back\\slash", "\\N", "tab\tx", "😀"])
    await server.query(
      `insert into out.t_clone values (1, 2, 'n', array['it''s', '😀']::"out"."Mood"[], row(1.5, -2, '\\N'), 3.25,
        '{{1,2},{3,4}}', 7)`,
      [],
      "dst"
    )
    await expect(
      server.query("insert into out.t_clone (id, s, name, p) values (2, 2, 'n', -1)", [], "dst")
    ).rejects.toThrow(/positive/)
  })

  it("multi-source: sid text not null first and in the key; append mode is created the same way", async () => {
    const { table } = await ensure(mapping("t", "t_sid", "append"), true)
    expect(table.columns[0]).toMatchObject({ name: "sid", typeName: "text", notNull: true })
    expect(table.primaryKey).toEqual(["sid", "id"])
    expect(table.hasSid).toBe(true)
  })

  it("history: history columns and a surrogate key, with and without sid", async () => {
    const withSid = (await ensure(mapping("t", "t_hist", "history"), true)).table
    expect(withSid.primaryKey).toEqual(["sid", "id", "kvsz_id"])
    expect(shape(withSid).slice(-5)).toEqual([
      ["kvsz_id", "bigint", true, true],
      ["kvsz_start", "timestamp with time zone", true, true],
      ["kvsz_end", "timestamp with time zone", true, true],
      ["kvsz_deleted", "boolean", true, true],
      ["kvsz_lsn", "numeric", false, false]
    ])
    const single = (await ensure(mapping("t", "t_hist1", "history"))).table
    expect(single.primaryKey).toEqual(["id", "kvsz_id"])
    expect(single.hasSid).toBe(false)
  })

  it("a partitioned parent becomes a plain table; replica identity index or no key", async () => {
    const parted = (await ensure(mapping("parted", "parted"))).table
    expect(parted.relkind).toBe("r")
    expect(parted.primaryKey).toEqual([])
    expect((await ensure(mapping("nokey", "nokey"))).table.primaryKey).toEqual([])
    expect((await ensure(mapping("rix", "rix"))).table.primaryKey).toEqual(["b", "a"])
  })

  it("an existing table is returned untouched", async () => {
    await server.query("create table out.mine (id bigint, extra text)", [], "dst")
    const { created, table } = await ensure(mapping("t", "mine"))
    expect(created).toBe(false)
    expect(shape(table)).toEqual([
      ["id", "bigint", false, false],
      ["extra", "text", false, false]
    ])
  })

  it("missing table without auto_create, and a type with another definition, are CreateFailed", async () => {
    const off = failure(await ensureExit(mapping("t", "absent", "clone", false)))
    expect(off).toMatchObject({ _tag: "CreateFailed", table: "out.absent" })
    await server.query("create schema other; create type other.\"Mood\" as enum ('ok', 'bad')", [], "dst")
    const err: CreateFailed = failure(
      await Effect.runPromiseExit(ensureTargetTable(dst, "other", mapping("t", "t"), await source("t"), false))
    )
    expect(err._tag).toBe("CreateFailed")
    expect(err.message).toMatch(/type other.Mood has labels \(ok, bad\)/)
    expect(await Effect.runPromise(describeTargetTable(dst, "other", "t"))).toBeUndefined()
    expect(await server.query("select 1 from pg_type where typname = 'complex'", [], "dst")).toHaveLength(1)
  })

  /** the Relation pgoutput would send for app.<name> now */
  const relation = async (name: string): Promise<Relation> => {
    const cols = await server.query(
      `select a.attname as name, a.atttypid::int as "typeOid", a.atttypmod as "typeMod",
         coalesce(a.attnum = any(i.indkey), false) as "isKey"
       from pg_attribute a left join pg_index i on i.indrelid = a.attrelid and i.indisprimary
       where a.attrelid = $1::regclass and a.attnum > 0 and not a.attisdropped and a.attgenerated = ''
       order by a.attnum`,
      [`app.${name}`],
      "src"
    )
    return { oid: 1, schema: "app", name, replicaIdentity: "d", columns: cols }
  }

  const change = async (target: TargetTable, previous: Relation | undefined, next: Relation, autoCreate = true) =>
    Effect.runPromiseExit(
      Effect.flatMap(describeColumnTypes(src, [...next.columns, ...(previous?.columns ?? [])]), (types) =>
        addColumns(dst, "out", target, next, types, { previous, autoCreate })
      )
    )

  it("schema change: new source columns are added (types first), dropped ones are reported", async () => {
    await server.query("create table app.sc (id int primary key, a text, b int)", [], "src")
    const { table } = await ensure(mapping("sc", "sc"))
    const before = await relation("sc")
    await server.query(
      `create type app.color as enum ('red', 'o''range');
       alter table app.sc add column color app.color[], add column v varchar(7), drop column a`,
      [],
      "src"
    )
    const after = await relation("sc")
    const off = await change(table, before, after, false)
    expect(Exit.isSuccess(off) && off.value.added).toEqual([])
    const exit = await change(table, before, after)
    if (!Exit.isSuccess(exit)) throw new Error(String(exit))
    expect(exit.value.added).toEqual(["color", "v"])
    expect(exit.value.dropped).toEqual(["a"])
    expect(shape(exit.value.table)).toEqual([
      ["id", "integer", true, false],
      ["a", "text", false, false],
      ["b", "integer", false, false],
      ["color", '"out".color[]', false, false],
      ["v", "character varying(7)", false, false]
    ])
    await server.query(`insert into out.sc (id, color) values (1, '{red,"o''range"}')`, [], "dst")
  })

  it("schema change: a retyped column is SchemaMismatch unless the destination already has the new type", async () => {
    await server.query("create table app.rt (id int primary key, n int, m int)", [], "src")
    const { table } = await ensure(mapping("rt", "rt"))
    const before = await relation("rt")
    await server.query("alter table app.rt alter column n type bigint, alter column m type bigint", [], "src")
    const after = await relation("rt")
    const err = failure(await change(table, before, after))
    expect(err).toMatchObject({
      _tag: "SchemaMismatch",
      table: "out.rt",
      column: "n",
      oldType: "integer",
      newType: "bigint"
    })
    expect(err.message).toMatch(/"n" changed type on the source from integer to bigint/)
    await server.query("alter table out.rt alter column n type bigint, alter column m type bigint", [], "dst")
    const fixed = (await Effect.runPromise(describeTargetTable(dst, "out", "rt")))!
    expect(Exit.isSuccess(await change(fixed, before, after))).toBe(true)
  })
})
