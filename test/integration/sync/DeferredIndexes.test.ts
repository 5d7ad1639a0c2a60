/**
 * Indexes deferred by a first copy (sync/DeferredIndexes) on a real destination: dropped with their
 * rebuild recorded in one transaction, rebuilt exactly as they were (key, unique and exclusion
 * constraints, partial and expression indexes, names kept); tables a foreign key references, and roles
 * that may not drop them, are left alone; a rebuild the rows violate fails naming the index and keeps the
 * record for the next attempt.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { deferIndexes, restoreIndexes } from "../../../src/sync/DeferredIndexes.js"
import { ensureSyncStore } from "../../../src/sync/SyncStore.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"

const DDL = `
  create table t (id bigint primary key, code text unique, r int4range, v int, exclude using gist (r with &&));
  create index t_v on t (v) where v > 0;
  create index "T expr" on t (lower(code));
  create table parent (id int primary key);
  create table child (id int primary key, pid int references parent);
  create table dup (id int primary key, v text);
  create table "Mixed Case" (k text primary key);`

describe("DeferredIndexes", () => {
  let dest: TestPg
  let client: pg.Client

  const definitions = async (table: string) => ({
    indexes: await dest.query(
      "select indexname, indexdef from pg_indexes where schemaname = 'public' and tablename = $1 order by 1",
      [table],
      "d"
    ),
    constraints: await dest.query(
      `select conname, pg_get_constraintdef(oid) as def from pg_constraint
       where conrelid = $1::regclass and contype <> 'n' order by 1`,
      [`public."${table}"`],
      "d"
    ),
    // Postgres 18 catalogs NOT NULL as constraints: a dropped key leaves them, the rebuilt one reuses them
    notNull: await dest.query(
      `select conname from pg_constraint where conrelid = $1::regclass and contype = 'n' order by 1`,
      [`public."${table}"`],
      "d"
    )
  })
  const recorded = async (target: string) =>
    dest.query("select statements from walferry.deferred_indexes where target = $1", [target], "d")

  beforeAll(async () => {
    dest = await startTestPg({ version: latestVersion() })
    await dest.createDatabase("d")
    client = new pg.Client({ connectionString: dest.url("d") })
    await client.connect()
    expect(await restoreIndexes(client, "t")).toEqual([]) // before the store exists
    await ensureSyncStore(client)
    await dest.query(DDL, [], "d")
  })

  afterAll(async () => {
    await client?.end()
    await dest?.stop()
  })

  it("drops every index and constraint index, then rebuilds them exactly", async () => {
    const before = await definitions("t")
    expect(before.indexes.length).toBe(5)
    expect(await deferIndexes(client, "public", "t", "src/a")).toBe(5)
    const during = await definitions("t")
    expect(during.indexes).toEqual([])
    expect(during.constraints).toEqual([])
    expect(during.notNull).toEqual(before.notNull)
    expect((await recorded("t"))[0].statements).toHaveLength(5)
    await dest.query(
      "insert into t select g, 'c' || g, int4range(g * 10, g * 10 + 5), g % 3 from generate_series(1, 1000) g",
      [],
      "d"
    )
    const statements = await restoreIndexes(client, "t", "src/a")
    expect(statements).toHaveLength(5)
    expect(statements[0]).toMatch(/add constraint "t_pkey" PRIMARY KEY \(id\)/)
    expect(await definitions("t")).toEqual(before)
    expect(await recorded("t")).toEqual([])
    await expect(dest.query("insert into t (id) values (1)", [], "d")).rejects.toThrow(/t_pkey/)
  })

  it("quotes names that need it", async () => {
    const before = await definitions("Mixed Case")
    expect(await deferIndexes(client, "public", "Mixed Case", "src/a")).toBe(1)
    await restoreIndexes(client, "Mixed Case")
    expect(await definitions("Mixed Case")).toEqual(before)
  })

  it("leaves a table a foreign key references alone, and defers a referencing table's own key", async () => {
    expect(await deferIndexes(client, "public", "parent", "src/a")).toBe(0)
    expect((await definitions("parent")).indexes).toHaveLength(1)
    const child = await definitions("child")
    expect(await deferIndexes(client, "public", "child", "src/a")).toBe(1)
    expect((await definitions("child")).constraints.map((c) => c.conname)).toEqual(["child_pid_fkey"])
    await restoreIndexes(client, "child", "src/a")
    expect(await definitions("child")).toEqual(child)
  })

  it("a rebuild the rows violate fails naming the index and keeps the record", async () => {
    expect(await deferIndexes(client, "public", "dup", "src/a")).toBe(1)
    await dest.query("insert into dup values (1, 'a'), (1, 'b')", [], "d")
    await expect(restoreIndexes(client, "dup")).rejects.toThrow(/dup_pkey/)
    expect(await recorded("dup")).toHaveLength(1)
    await dest.query("delete from dup where v = 'b'", [], "d")
    expect(await restoreIndexes(client, "dup")).toHaveLength(1)
    expect((await definitions("dup")).indexes.map((i) => i.indexname)).toEqual(["dup_pkey"])
  })

  it("a role that may not drop the indexes copies through them", async () => {
    await dest.query(
      `create role limited login;
       grant usage on schema public, walferry to limited;
       grant all on public.t, walferry.deferred_indexes to limited`,
      [],
      "d"
    )
    const url = new URL(dest.url("d"))
    url.username = "limited"
    const other = new pg.Client({ connectionString: url.toString() })
    await other.connect()
    try {
      expect(await deferIndexes(other, "public", "t", "src/a")).toBe(0)
    } finally {
      await other.end()
    }
    expect((await definitions("t")).indexes).toHaveLength(5)
    expect(await recorded("t")).toEqual([])
  })
})
