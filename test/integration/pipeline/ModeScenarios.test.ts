/**
 * kuvasz-streamer's append and history scenarios (reference §10) through the running engine, on every
 * source version under test feeding one destination through `sid`, and on a single source without it;
 * plus destination tables auto-created for clone, append and history, with and without `sid`.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type TestPg } from "../../support/Pg.js"
import { startSourcesAndDestination, stopServers } from "../../support/servers.js"
import { pipelineConfig, startEngine, tableMapping, waitFor, type RunningEngine } from "../../support/engine.js"

const SOURCE_DDL = `
  create table t3 (id serial primary key, name text, salary int, garbage date);
  create table t4 (id serial primary key, name text, salary int, garbage date);
  create table a1 (id int primary key, name text, tags text[]);
  create table a2 (id int primary key, name text);
  create table a3 (id int primary key, name text)`

const DEST_DDL = `
  create table t3 (sid text, id int, name text, salary int, primary key (sid, id));
  create table t4 (kvsz_id bigserial, sid text, id int, name text, salary int,
    kvsz_start timestamptz not null default '1900-01-01', kvsz_end timestamptz not null default '9999-01-01',
    kvsz_deleted boolean not null default false, kvsz_lsn numeric, primary key (sid, id, kvsz_id));
  create table d3 (id int primary key, name text, salary int);
  create table d4 (kvsz_id bigserial, id int, name text, salary int,
    kvsz_start timestamptz not null default '1900-01-01', kvsz_end timestamptz not null default '9999-01-01',
    kvsz_deleted boolean not null default false, kvsz_lsn numeric, primary key (id, kvsz_id))`

describe("append and history scenarios, auto-created tables", () => {
  const sources: Array<TestPg> = []
  let dest: TestPg
  let engine: RunningEngine
  const sids = () => sources.map((s) => String(s.version))

  beforeAll(async () => {
    const started = await startSourcesAndDestination({
      database: "db1",
      sourceSql: SOURCE_DDL,
      destSql: DEST_DDL
    })
    dest = started.dest
    sources.push(...started.sources)
    const single = sources[sources.length - 1]!
    await single.query(
      "create table d3 (id serial primary key, name text, salary int); create table d4 (id serial primary key, name text, salary int)",
      [],
      "db1"
    )
    const auto = (table: string, mode: "clone" | "append" | "history", target: string) => ({
      ...tableMapping({ table, mode, target }),
      autoCreate: true
    })
    const config = pipelineConfig({
      destination: dest.url("dest"),
      sources: [
        {
          database: "db1",
          urls: sources.map((s) => ({ url: s.url("db1"), sid: String(s.version) })),
          tables: [
            { table: "t3", mode: "append" },
            { table: "t4", mode: "history" }
          ]
        },
        { database: "single", urls: [{ url: single.url("db1"), sid: "" }], tables: [] }
      ]
    })
    engine = startEngine({
      ...config,
      sources: [
        {
          ...config.sources[0]!,
          tables: [
            ...config.sources[0]!.tables,
            auto("a1", "clone", "auto_clone"),
            auto("a2", "append", "auto_append"),
            auto("a3", "history", "auto_history")
          ]
        },
        {
          ...config.sources[1]!,
          tables: [
            tableMapping({ table: "d3", mode: "append" }),
            tableMapping({ table: "d4", mode: "history" }),
            auto("a1", "clone", "auto_clone_single"),
            auto("a3", "history", "auto_history_single")
          ]
        }
      ]
    })
    await waitFor("slots active", async () => {
      const rows = await Promise.all(
        sources.map((s) => s.query("select count(*)::int n from pg_replication_slots where active", [], "db1"))
      )
      return rows.every((r, i) => r[0].n >= (i === sources.length - 1 ? 2 : 1))
    })
  })

  afterAll(async () => {
    await engine?.stop()
    await stopServers(sources, dest)
  })

  const onAll = async (sql: string) => {
    for (const s of sources) await s.query(sql, [], "db1")
  }
  const destRows = (sql: string, params: Array<unknown> = []) => dest.query(sql, params, "dest")
  const settle = (what: string, check: () => Promise<boolean>) => waitFor(what, check, 30_000)

  it("append: inserts and updates propagate, deletes do not", async () => {
    await onAll("insert into t3(name) values('r1'); insert into t3(name) values('r2')")
    await onAll("update t3 set name = 'x1' where id = 1")
    await onAll("update t3 set id = 5 where id = 1")
    await onAll("delete from t3 where id = 5")
    await onAll("insert into t3(name) values('marker')")
    for (const sid of sids()) {
      await settle(
        `append ${sid}`,
        async () => (await destRows("select 1 from t3 where sid = $1 and name = 'marker'", [sid])).length === 1
      )
      expect(await destRows("select id, name from t3 where sid = $1 order by id", [sid])).toEqual([
        { id: 2, name: "r2" },
        { id: 3, name: "marker" },
        { id: 5, name: "x1" }
      ])
    }
  })

  it("history: versions chained by commit time, other keys untouched, delete closes and marks", async () => {
    await onAll(
      "insert into t4(name) values('r1'); insert into t4(name) values('r2'); insert into t4(name) values('r3')"
    )
    await onAll("update t4 set name = 'x1' where id = 1")
    await onAll("update t4 set name = 'z1' where id = 1")
    await onAll("delete from t4 where id = 1")
    await onAll("insert into t4(name) values('marker')")
    for (const sid of sids()) {
      await settle(
        `history ${sid}`,
        async () => (await destRows("select 1 from t4 where sid = $1 and name = 'marker'", [sid])).length === 1
      )
      const one = await destRows(
        "select name, kvsz_start, kvsz_end, kvsz_deleted from t4 where sid = $1 and id = 1 order by kvsz_start, kvsz_lsn",
        [sid]
      )
      expect(one.map((r) => r.name)).toEqual(["r1", "x1", "z1"])
      expect(one[1].kvsz_start.getTime()).toBe(one[0].kvsz_end.getTime())
      expect(one[2].kvsz_start.getTime()).toBe(one[1].kvsz_end.getTime())
      expect(one[2].kvsz_deleted).toBe(true)
      expect(one[2].kvsz_end.getUTCFullYear()).toBeLessThan(9999)
      const others = await destRows(
        "select id, count(*)::int n, bool_and(kvsz_end = '9999-01-01 00:00:00+00') open from t4 where sid = $1 and id in (2, 3) group by id order by id",
        [sid]
      )
      expect(others).toEqual([
        { id: 2, n: 1, open: true },
        { id: 3, n: 1, open: true }
      ])
    }
  })

  it("without sid: append and history on a single source", async () => {
    const single = sources[sources.length - 1]!
    await single.query(
      "insert into d3(name) values('r1'); update d3 set name = 'x1' where id = 1; delete from d3 where id = 1",
      [],
      "db1"
    )
    await single.query("insert into d4(name) values('r1'); update d4 set name = 'x1' where id = 1", [], "db1")
    await settle("d3", async () => (await destRows("select name from d3 where name = 'x1'")).length === 1)
    expect(await destRows("select id, name from d3")).toEqual([{ id: 1, name: "x1" }])
    await settle("d4", async () => (await destRows("select name from d4")).length === 2)
    expect((await destRows("select name from d4 order by kvsz_start, kvsz_lsn")).map((r) => r.name)).toEqual([
      "r1",
      "x1"
    ])
  })

  it("auto-created tables work end to end for clone, append and history, with and without sid", async () => {
    await onAll(
      "insert into a1 values (1, 'a', '{x,NULL}'), (2, 'b', null); update a1 set name = 'c' where id = 2; delete from a1 where id = 1"
    )
    await onAll("insert into a2 values (1, 'a'); delete from a2 where id = 1")
    await onAll("insert into a3 values (1, 'a'); update a3 set name = 'b' where id = 1")
    await settle("auto tables", async () => {
      const [c, a, h] = await Promise.all([
        destRows("select count(*)::int n from auto_clone"),
        destRows("select count(*)::int n from auto_append"),
        destRows("select count(*)::int n from auto_history")
      ])
      return c[0].n === sources.length && a[0].n === sources.length && h[0].n === 2 * sources.length
    })
    for (const sid of sids()) {
      expect(await destRows("select id, name, tags from auto_clone where sid = $1", [sid])).toEqual([
        { id: 2, name: "c", tags: null }
      ])
    }
    const cols = await destRows(
      "select column_name from information_schema.columns where table_name = 'auto_history' order by ordinal_position"
    )
    expect(cols.map((c) => c.column_name)).toEqual(
      expect.arrayContaining(["sid", "id", "name", "kvsz_start", "kvsz_end", "kvsz_deleted"])
    )
    await settle(
      "single-source auto tables",
      async () => (await destRows("select count(*)::int n from auto_history_single"))[0].n === 2
    )
    expect(await destRows("select id, name from auto_clone_single")).toEqual([{ id: 2, name: "c" }])
    expect(engine.failed()).toBe(false)
  })
})
