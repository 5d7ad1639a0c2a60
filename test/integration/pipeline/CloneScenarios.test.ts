/**
 * kuvasz-streamer's clone, TOAST, partition and schema scenarios (reference §10), on sources 13, 15 and 17
 * at once feeding one destination through `sid`, and on a single source without `sid`.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type TestPg } from "../../support/Pg.js"
import { startSourcesAndDestination, stopServers } from "../../support/servers.js"
import { pipelineConfig, startEngine, waitFor, type RunningEngine } from "../../support/engine.js"

const SOURCE_DDL = (p: string) => `
  create schema private;
  create table ${p}1 (id serial primary key, name text, salary int, garbage date);
  create table ${p}2 (id int, name text, salary int, extra text);
  alter table ${p}2 replica identity full;
  create table ${p}6 (id int primary key, name text, longvalue text);
  create table ${p}7 (id int primary key, name text) partition by range (id);
  create table ${p}7_0 partition of ${p}7 for values from (0) to (10);
  create table ${p}7_1 partition of ${p}7 for values from (10) to (20);
  create table ${p}7_2 partition of ${p}7 for values from (20) to (30);
  create table ${p}7_3 partition of ${p}7 for values from (30) to (40);
  create table public.${p}8 (id serial primary key, name text);
  create table private.${p}8 (id serial primary key, name text);`

const DEST_DDL = `
  create table t1 (sid text, id int, name text, salary int, primary key (sid, id));
  create table rt2 (sid text, id int, name text, salary int, extra text);
  create table t6 (sid text, id int, name text, longvalue text);
  create table t7 (sid text, id int, name text, primary key (sid, id)) partition by range (id);
  create table t7_a partition of t7 for values from (0) to (20);
  create table t7_b partition of t7 for values from (20) to (40);
  create table t8 (sid text, id int, name text, primary key (sid, id));
  create table pt8 (sid text, id int, name text, primary key (sid, id));
  create table d1 (id int primary key, name text, salary int);
  create table rd2 (id int, name text, salary int, extra text);
  create table d6 (id int primary key, name text, longvalue text);
  create table d7 (id int primary key, name text) partition by range (id);
  create table d7_a partition of d7 for values from (0) to (20);
  create table d7_b partition of d7 for values from (20) to (40);
  create table d8 (id int primary key, name text);
  create table pd8 (id int primary key, name text);`

const LONG = Array.from({ length: 20_000 }, (_, i) => String.fromCharCode(97 + ((i * 7919) % 26))).join("")

describe("clone scenarios (kuvasz-streamer §10)", () => {
  const sources: Array<TestPg> = []
  let dest: TestPg
  let engine: RunningEngine

  beforeAll(async () => {
    const started = await startSourcesAndDestination({
      database: "db1",
      sourceSql: SOURCE_DDL("t"),
      destSql: DEST_DDL
    })
    dest = started.dest
    sources.push(...started.sources)
    await sources[sources.length - 1]!.query(SOURCE_DDL("d").replace("create schema private;", ""), [], "db1")
    const single = sources[sources.length - 1]!
    engine = startEngine(
      pipelineConfig({
        destination: dest.url("dest"),
        sources: [
          {
            database: "db1",
            urls: sources.map((s) => ({ url: s.url("db1"), sid: String(s.version) })),
            tables: [
              "t1",
              { table: "t2", target: "rt2" },
              "t6",
              { table: "t7", partitionsRegex: "t7_.*" },
              { table: "public.t8", target: "t8" },
              { table: "private.t8", target: "pt8" }
            ]
          },
          {
            database: "single",
            urls: [{ url: single.url("db1"), sid: "" }],
            tables: [
              "d1",
              { table: "d2", target: "rd2" },
              "d6",
              { table: "d7", partitionsRegex: "d7_.*" },
              { table: "public.d8", target: "d8" },
              { table: "private.d8", target: "pd8" }
            ]
          }
        ]
      })
    )
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

  /** runs `action` on every source, then waits until the destination slice of each sid equals the source */
  const propagates = async (action: string, srcQuery: string, dstQuery: string) => {
    for (const s of sources) await s.query(action, [], "db1")
    for (const s of sources) {
      const expected = await s.query(srcQuery, [], "db1")
      await waitFor(`${action} on ${s.version}`, async () => {
        const got = await dest.query(dstQuery, [String(s.version)], "dest")
        return JSON.stringify(got) === JSON.stringify(expected)
      })
      expect(await dest.query(dstQuery, [String(s.version)], "dest")).toEqual(expected)
    }
  }

  const single = async (action: string, srcQuery: string, dstQuery: string) => {
    const s = sources[sources.length - 1]!
    await s.query(action, [], "db1")
    const expected = await s.query(srcQuery, [], "db1")
    await waitFor(
      action,
      async () => JSON.stringify(await dest.query(dstQuery, [], "dest")) === JSON.stringify(expected)
    )
    expect(await dest.query(dstQuery, [], "dest")).toEqual(expected)
  }

  const t1 = [
    "select id, name, salary from t1 order by id",
    "select id, name, salary from t1 where sid = $1 order by id"
  ] as const
  const t2 = [
    "select id, name, salary, extra from t2 order by id, name, salary, extra",
    "select id, name, salary, extra from rt2 where sid = $1 order by id, name, salary, extra"
  ] as const

  it("clone: insert row 1 and row 2", async () => {
    await propagates("insert into t1(name) values('r1')", ...t1)
    await propagates("insert into t1(name) values('r2')", ...t1)
  })
  it("clone: insert with RIF, and with a non-null attribute", async () => {
    await propagates("insert into t2(id, name) values(1, 'r1')", ...t2)
    await propagates("insert into t2(id, name, extra) values(1, 'r1', 'foo')", ...t2)
  })
  it("clone: update non-key, update key", async () => {
    await propagates("update t1 set name = 'x1' where id = 1", ...t1)
    await propagates("update t1 set id = 5 where id = 1", ...t1)
  })
  it("clone: RIF multi-row update, update by extra, update where extra is null", async () => {
    await propagates("update t2 set id = 5 where id = 1", ...t2)
    await propagates("update t2 set salary = 2 where id = 5 and extra = 'foo'", ...t2)
    await propagates("update t2 set salary = 3, extra = 'bar' where extra is null", ...t2)
  })
  it("clone: delete, delete with RIF", async () => {
    await propagates("delete from t1 where id = 5", ...t1)
    await propagates("delete from t2 where id = 5", ...t2)
  })
  it("toast: a 20,000-char value survives an update of another column, then delete", async () => {
    const q = [
      "select id, name, longvalue from t6 order by id",
      "select id, name, longvalue from t6 where sid = $1 order by id"
    ] as const
    await propagates("insert into t6(id, name) values(1, 'toast')", ...q)
    await propagates(`update t6 set longvalue = '${LONG}'`, ...q)
    await propagates("update t6 set name = 'no-toast'", ...q)
    const rows = await dest.query("select length(longvalue) n from t6", [], "dest")
    expect(rows.every((r) => r.n === 20_000)).toBe(true)
    await propagates("delete from t6", ...q)
  })
  it("partitions: inserts into each partition, update, delete", async () => {
    const q = ["select id, name from t7 order by id", "select id, name from t7 where sid = $1 order by id"] as const
    for (const [id, name] of [
      [0, "p0"],
      [10, "p1"],
      [20, "p2"],
      [30, "p3"]
    ] as const) {
      await propagates(`insert into t7(id, name) values(${id}, '${name}')`, ...q)
    }
    await propagates("update t7 set name = 'p2x' where id = 20", ...q)
    await propagates("delete from t7 where id = 30", ...q)
  })
  it("schemas: public and private tables into t8 and pt8", async () => {
    const pub = [
      "select id, name from public.t8 order by id",
      "select id, name from t8 where sid = $1 order by id"
    ] as const
    const priv = [
      "select id, name from private.t8 order by id",
      "select id, name from pt8 where sid = $1 order by id"
    ] as const
    await propagates("insert into t8(name) values('p1')", ...pub)
    await propagates("insert into private.t8(name) values('x1')", ...priv)
    await propagates("update t8 set name = 'x1' where id = 1", ...pub)
    await propagates("update private.t8 set name = 'z1' where id = 1", ...priv)
    await propagates("update t8 set id = 5 where id = 1", ...pub)
    await propagates("update private.t8 set id = 10 where id = 1", ...priv)
  })
  it("no sid: clone, RIF, toast, partitions and schemas on a single source", async () => {
    const d1 = ["select id, name, salary from d1 order by id", "select id, name, salary from d1 order by id"] as const
    const d2 = [
      "select id, name, salary, extra from d2 order by id, name, salary, extra",
      "select id, name, salary, extra from rd2 order by id, name, salary, extra"
    ] as const
    await single("insert into d1(name) values('r1')", ...d1)
    await single("insert into d1(name) values('r2')", ...d1)
    await single("insert into d2(id, name) values(1, 'r1')", ...d2)
    await single("insert into d2(id, name, extra) values(1, 'r1', 'foo')", ...d2)
    await single("update d1 set name = 'x1' where id = 1", ...d1)
    await single("update d1 set id = 5 where id = 1", ...d1)
    await single("update d2 set id = 5 where id = 1", ...d2)
    await single("update d2 set salary = 2 where id = 5 and extra = 'foo'", ...d2)
    await single("update d2 set salary = 3, extra = 'bar' where extra is null", ...d2)
    await single("delete from d1 where id = 5", ...d1)
    await single("delete from d2 where id = 5", ...d2)
    const d6 = [
      "select id, name, longvalue from d6 order by id",
      "select id, name, longvalue from d6 order by id"
    ] as const
    await single("insert into d6(id, name) values(1, 'toast')", ...d6)
    await single(`update d6 set longvalue = '${LONG}'`, ...d6)
    await single("update d6 set name = 'no-toast'", ...d6)
    const d7 = ["select id, name from d7 order by id", "select id, name from d7 order by id"] as const
    for (const id of [0, 10, 20, 30]) await single(`insert into d7(id, name) values(${id}, 'p${id}')`, ...d7)
    await single("update d7 set name = 'p2x' where id = 20", ...d7)
    await single("delete from d7 where id = 30", ...d7)
    await single(
      "insert into d8(name) values('p1')",
      "select id, name from public.d8 order by id",
      "select id, name from d8 order by id"
    )
    await single(
      "insert into private.d8(name) values('x1')",
      "select id, name from private.d8 order by id",
      "select id, name from pd8 order by id"
    )
    await single(
      "update private.d8 set id = 10 where id = 1",
      "select id, name from private.d8 order by id",
      "select id, name from pd8 order by id"
    )
  })
  it("truncate of one sid leaves the other sids' rows", async () => {
    const first = sources[0]!
    await first.query("insert into t8(name) values('keep')", [], "db1")
    for (const s of sources.slice(1)) await s.query("insert into t8(name) values('other')", [], "db1")
    await waitFor("rows everywhere", async () => {
      const r = await dest.query("select count(distinct sid)::int n from t8", [], "dest")
      return r[0].n === sources.length
    })
    await first.query("truncate t8", [], "db1")
    await waitFor("truncate applied", async () => {
      const r = await dest.query("select count(*)::int n from t8 where sid = $1", [String(first.version)], "dest")
      return r[0].n === 0
    })
    const others = await dest.query("select count(*)::int n from t8 where sid <> $1", [String(first.version)], "dest")
    expect(others[0].n).toBeGreaterThan(0)
    expect(engine.failed()).toBe(false)
  })
})
