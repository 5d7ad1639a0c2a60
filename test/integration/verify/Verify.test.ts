/**
 * `walferry verify` on real servers, without streaming: tables written alike on sources 13, 15 and 17 (one
 * shared target sliced by `sid`) and on the destination compare equal across majors; planted differences
 * (a missing, an extra, a changed row, a changed row in one sid slice) are found with their keys; append
 * accepts a superset; history compares its open versions; a renamed target fed a column subset compares the
 * mapped columns only; a keyless table compares row multisets; --repair fixes what it found (clone ranges,
 * append upserts, a history slice reconciled keeping its versions); the command's exit codes.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { WalferryConfig } from "../../../src/config/Config.js"
import { runVerify, type VerifyOptions } from "../../../src/verify/Verify.js"
import { verifyCommand } from "../../../src/verify/VerifyCommand.js"
import type { TableReport, VerifyReport } from "../../../src/verify/VerifyReport.js"
import { walferryConfig } from "../../support/configFixture.js"
import { type TestPg } from "../../support/Pg.js"
import { startSourcesAndDestination, stopServers } from "../../support/servers.js"

const ROWS = 5_000

/** the same rows on every server: numeric, float, timestamptz, arrays, jsonb, NULLs */
const rows = (n: number) => `select g, 'name ' || g, g / 7.0, case when g % 5 = 0 then null else g * 1.5 end::float8,
  timestamptz '2024-01-01 10:00:00+02' + g * interval '1 minute', array['a' || g, null], jsonb_build_object('g', g, 'x', 'y')
  from generate_series(1, ${n}) g`
const COLUMNS = "id int primary key, name text, price numeric, score float8, at timestamptz, tags text[], doc jsonb"
const SID_COLUMNS =
  "sid text, id int, name text, price numeric, score float8, at timestamptz, tags text[], doc jsonb, primary key (sid, id)"

const SOURCE_DDL = `
  create table items (${COLUMNS}); insert into items ${rows(ROWS)};
  create table planted (${COLUMNS}); insert into planted ${rows(ROWS)};`

const SOLO_DDL = `
  create table events (${COLUMNS}); insert into events ${rows(2_000)};
  create table people (id int primary key, name text, email text, secret text);
  insert into people select g, 'p' || g, 'p' || g || '@x.org', md5(g::text) from generate_series(1, 3000) g;
  create table hist (id int primary key, v text); insert into hist select g, 'h' || g from generate_series(1, 1000) g;
  create table bag (x int, y text); insert into bag select g % 50, 'y' || (g % 7) from generate_series(1, 2000) g;
  create table fixme (${COLUMNS}); insert into fixme ${rows(ROWS)};
  create table fixbag (x int, y text); insert into fixbag select g % 50, 'y' || (g % 7) from generate_series(1, 2000) g;
  create table fixappend (${COLUMNS}); insert into fixappend ${rows(2_000)};
  create table cmd (id int primary key, v text); insert into cmd select g, 'c' || g from generate_series(1, 300) g;`

const DEST_DDL = `
  create table items (${SID_COLUMNS}); create table planted (${SID_COLUMNS});
  create table events (${COLUMNS}); create table fixme (${COLUMNS}); create table fixappend (${COLUMNS});
  create table persons (id bigint primary key, name text, email varchar(100), note text default 'destination only');
  create table hist (kvsz_id bigserial, id int, v text, kvsz_start timestamptz not null,
    kvsz_end timestamptz not null default '9999-01-01', kvsz_deleted boolean not null default false,
    kvsz_lsn numeric, primary key (id, kvsz_id));
  create table bag (x int, y text); create table fixbag (x int, y text);
  create table cmd (id int primary key, v text); insert into cmd select g, 'c' || g from generate_series(1, 300) g;`

describe("walferry verify", () => {
  const sources: Array<TestPg> = []
  let dest: TestPg
  let config: WalferryConfig
  const sids = () => sources.map((s) => String(s.version))
  const solo = () => sources[sources.length - 1]!

  const destQuery = (sql: string, params: Array<unknown> = []) => dest.query(sql, params, "dest")
  const verify = (options: VerifyOptions): Promise<VerifyReport> =>
    Effect.runPromise(runVerify(config, { rangeRows: 1_000, leafRows: 100, settleMs: 50, settleRounds: 1, ...options }))
  const only = (report: VerifyReport, source?: string): TableReport => {
    const found = report.tables.filter((t) => source === undefined || t.source === source)
    expect(found).toHaveLength(1)
    return found[0]!
  }

  beforeAll(async () => {
    const started = await startSourcesAndDestination({
      database: "shop",
      sourceSql: SOURCE_DDL,
      destSql: DEST_DDL
    })
    dest = started.dest
    sources.push(...started.sources)
    await solo().query(SOLO_DDL, [], "shop")
    for (const sid of sids()) {
      await destQuery(`insert into items select $1, r.* from (${rows(ROWS)}) r`, [sid])
      await destQuery(`insert into planted select $1, r.* from (${rows(ROWS)}) r`, [sid])
    }
    await destQuery(
      `insert into events ${rows(2_000)}; insert into events ${rows(2_100).replace("1, 2100", "2001, 2100")}`
    )
    await destQuery(`insert into fixme ${rows(ROWS)}; insert into fixappend ${rows(2_000)};
      insert into persons (id, name, email) select g, 'p' || g, 'p' || g || '@x.org' from generate_series(1, 3000) g;
      insert into bag select g % 50, 'y' || (g % 7) from generate_series(1, 2000) g;
      insert into fixbag select g % 50, 'y' || (g % 7) from generate_series(1, 2000) g;
      insert into hist (id, v, kvsz_start, kvsz_end, kvsz_lsn) select g, 'old' || g, '2020-01-01', '2021-01-01', 1
        from generate_series(1, 1000) g;
      insert into hist (id, v, kvsz_start, kvsz_lsn) select g, 'h' || g, '2021-01-01', 2 from generate_series(1, 1000) g;
      insert into hist (id, v, kvsz_start, kvsz_end, kvsz_deleted, kvsz_lsn) values (5000, 'gone', '2020-01-01', '2022-01-01', true, 3)`)
    const urls = sources.map((s) => ({ url: s.url("shop"), sid: String(s.version) }))
    config = walferryConfig({
      destination: dest.url("dest"),
      sources: [
        { database: "shop", urls, tables: ["items", "planted"] },
        {
          database: "solo",
          urls: [{ url: solo().url("shop"), sid: "" }],
          tables: [
            { name: "events", mode: "append" },
            { name: "people", target: "persons" },
            { name: "hist", mode: "history" },
            "bag",
            "fixme",
            "fixbag",
            { name: "fixappend", mode: "append" }
          ]
        }
      ]
    })
  })

  afterAll(async () => {
    await stopServers(sources, dest)
  })

  it("equal tables on sources of different majors compare equal, per sid slice", async () => {
    const report = await verify({ tables: ["items"] })
    expect(report.verdict).toBe("equal")
    expect(report.tables.map((t) => t.source).sort()).toEqual(
      sids()
        .map((s) => `shop/${s}`)
        .sort()
    )
    for (const t of report.tables) {
      expect(t).toMatchObject({ verdict: "equal", sourceRows: ROWS, destinationRows: ROWS, keyed: true, rounds: 1 })
      expect(t.sid).toBe(t.source.slice("shop/".length))
      expect(t.ranges).toBeGreaterThan(1)
      expect(t.columns).toEqual(["id", "name", "price", "score", "at", "tags", "doc"])
    }
  })

  it("finds a missing, an extra, a changed row and a changed row in one sid slice, with their keys", async () => {
    const [first, second] = sids()
    await destQuery("delete from planted where sid = $1 and id = 17", [first])
    await destQuery(
      "insert into planted select sid, 999999, name, price, score, at, tags, doc from planted where sid = $1 and id = 2",
      [first]
    )
    await destQuery("update planted set name = 'changed' where sid = $1 and id = 4242", [first])
    await destQuery("update planted set score = score + 0.5 where sid = $1 and id = 99", [second ?? first])
    const report = await verify({ tables: ["planted"] })
    expect(report.verdict).toBe("different")
    const a = only(report, `shop/${first}`)
    expect(a.verdict).toBe("different")
    expect(a.keys.missing).toEqual([{ id: "17" }])
    expect(a.keys.extra).toEqual([{ id: "999999" }])
    expect(a.keys.different).toEqual(second === undefined ? [{ id: "99" }, { id: "4242" }] : [{ id: "4242" }])
    if (second !== undefined) {
      const b = only(report, `shop/${second}`)
      expect(b).toMatchObject({ verdict: "different", missing: 0, extra: 0, different: 1 })
      expect(b.keys.different).toEqual([{ id: "99" }])
      for (const t of report.tables.filter((t) => t.source !== `shop/${first}` && t.source !== `shop/${second}`)) {
        expect(t.verdict).toBe("equal")
      }
    }
  })

  it("append: a destination superset passes, a missing row does not", async () => {
    const report = await verify({ tables: ["events"] })
    expect(only(report)).toMatchObject({ verdict: "equal", mode: "append", extraAllowed: 100, sourceRows: 2_000 })
    await destQuery("delete from events where id = 1500")
    const after = only(await verify({ tables: ["events"] }))
    expect(after).toMatchObject({ verdict: "different", missing: 1, extra: 0 })
    expect(after.keys.missing).toEqual([{ id: "1500" }])
    await destQuery(
      `insert into events select * from (${rows(1500)}) r where g = 1500`.replace("r where g", "r where r.g")
    )
  })

  it("history: the open versions equal the source; a changed open version is found", async () => {
    expect(only(await verify({ tables: ["hist"] }))).toMatchObject({
      verdict: "equal",
      sourceRows: 1000,
      destinationRows: 1000,
      columns: ["id", "v"]
    })
    await destQuery("update hist set v = 'wrong' where id = 7 and kvsz_end = '9999-01-01'")
    const t = only(await verify({ tables: ["hist"] }))
    expect(t).toMatchObject({ verdict: "different", different: 1 })
    expect(t.keys.different).toEqual([{ id: "7" }])
  })

  it("a renamed target fed a column subset compares the mapped columns only", async () => {
    await destQuery("update persons set note = 'not compared' where id < 100")
    expect(only(await verify({ tables: ["persons"] }))).toMatchObject({
      verdict: "equal",
      table: "public.people",
      target: "persons",
      columns: ["id", "name", "email"]
    })
    await destQuery("update persons set email = 'changed' where id = 2999")
    expect(only(await verify({ tables: ["public.people"] })).keys.different).toEqual([{ id: "2999" }])
  })

  it("a keyless table compares whole-row multisets and says so", async () => {
    const equal = only(await verify({ tables: ["bag"] }))
    expect(equal).toMatchObject({ verdict: "equal", keyed: false, sourceRows: 2000 })
    await destQuery("insert into bag values (1, 'y1')")
    await destQuery("delete from bag where ctid = (select min(ctid) from bag where x = 2 and y = 'y2')")
    const t = only(await verify({ tables: ["bag"] }))
    expect(t).toMatchObject({ verdict: "different", keyed: false, missing: 1, extra: 1 })
    expect(t.keys.missing).toEqual([{ row: "(2,y2)" }])
    expect(t.keys.extra).toEqual([{ row: "(1,y1)" }])
  })

  it("--repair re-copies the differing ranges and the second comparison is clean", async () => {
    await destQuery("delete from fixme where id in (3, 2500)")
    await destQuery("insert into fixme select 77777, name, price, score, at, tags, doc from fixme where id = 5")
    await destQuery("update fixme set tags = null where id = 4000")
    await destQuery("delete from fixbag where ctid = (select min(ctid) from fixbag)")
    await destQuery("delete from fixappend where id = 10; update fixappend set name = 'x' where id = 11")
    await destQuery("insert into fixappend (id, name) values (99999, 'kept by append')")
    await destQuery("update hist set v = 'wrong' where id = 8 and kvsz_end = '9999-01-01'")
    const names = ["fixme", "fixbag", "fixappend", "hist"]
    const before = await verify({ tables: names })
    expect(before.tables.map((t) => [t.target, t.verdict]).sort()).toEqual(names.map((n) => [n, "different"]).sort())
    const repaired = await verify({ tables: names, repair: true })
    expect(repaired.tables.filter((t) => t.verdict !== "equal")).toEqual([])
    expect(repaired.verdict).toBe("equal")
    for (const t of repaired.tables) {
      expect(t.repaired?.skipped).toBeUndefined()
      expect(t.repaired?.ranges).toBeGreaterThan(0)
    }
    // only the leaves around ids 3, 2500, 4000 and 77777 were copied again, not the table
    const fixme = repaired.tables.find((t) => t.target === "fixme")!.repaired!
    expect(fixme.ranges).toBe(4)
    expect(fixme.rows).toBeLessThan(ROWS / 10)
    expect((await verify({ tables: names })).verdict).toBe("equal")
    expect(await destQuery("select name from fixappend where id = 99999")).toEqual([{ name: "kept by append" }])
    // history keeps its versions: the wrong open version is closed and the source's opened after it
    expect(
      await destQuery("select v, kvsz_end > '9998-01-01' as open from hist where id = 8 order by kvsz_start")
    ).toEqual([
      { v: "old8", open: false },
      { v: "wrong", open: false },
      { v: "h8", open: true }
    ])
  })

  it("the command prints the report and exits 0 equal, 1 different, 2 on a bad table or configuration", async () => {
    const env = { SOURCE_URL: solo().url("shop"), TARGET_URL: dest.url("dest"), TABLES: "cmd" }
    const logs: Array<string> = []
    const log = console.log
    console.log = (...args: Array<unknown>) => void logs.push(args.join(" "))
    try {
      expect(await Effect.runPromise(verifyCommand({ env, tables: ["cmd"] }))).toBe(0)
      expect(logs.join("\n")).toContain("EQUAL")
      await destQuery("update cmd set v = 'again' where id = 5")
      expect(await Effect.runPromise(verifyCommand({ env, json: true }))).toBe(1)
      const json = JSON.parse(logs[logs.length - 1]!) as VerifyReport
      expect(json.tables[0]!.keys.different).toEqual([{ id: "5" }])
      expect(await Effect.runPromise(verifyCommand({ env, tables: ["nosuch"] }))).toBe(2)
      expect(await Effect.runPromise(verifyCommand({ env: {}, tables: [] }))).toBe(2)
    } finally {
      console.log = log
    }
  })
})
