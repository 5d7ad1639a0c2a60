/**
 * Shared rounds in the whole pipeline, on tables the user made (existing rows, an odd name): a steady stream
 * of small transactions touching three tables commits far fewer destination transactions than batches; a row
 * lock another session holds on one destination table does not stop the others (they keep following the
 * source while it waits), and once the lock is released every table equals the source.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { registry } from "../../../src/telemetry/Metrics.js"
import { type TestPg } from "../../support/Pg.js"
import { startSourcesAndDestination, stopServers } from "../../support/servers.js"
import { pipelineConfig, startEngine, waitFor, type RunningEngine } from "../../support/engine.js"
import { latestVersion } from "../../support/versions.js"

const TABLES = `
  create table acct (id int primary key, n int not null);
  create table tally (id int primary key, n int not null);
  create table "Odd ""Name""" (id int primary key, n int not null);`
const ROWS = `
  insert into acct select g, 0 from generate_series(1, 50) g;
  insert into tally select g, 0 from generate_series(1, 50) g;
  insert into "Odd ""Name""" select g, 0 from generate_series(1, 50) g;`

const state = `select (select sum(n) from acct)::int a, (select sum(n) from tally)::int t, (select sum(n) from "Odd ""Name""")::int o`

/** batches walferry applied so far, over every table */
const batches = async (): Promise<number> => {
  const text = await registry.metrics()
  let n = 0
  for (const m of text.matchAll(/^walferry_batch_rows_count\{[^}]*\} (\d+)/gm)) n += Number(m[1])
  return n
}

describe("shared rounds in the pipeline", () => {
  let source: TestPg
  let dest: TestPg
  let engine: RunningEngine
  let writer: pg.Client
  let tick = 0

  beforeAll(async () => {
    const started = await startSourcesAndDestination({
      database: "app",
      versions: [latestVersion()],
      sourceSql: TABLES + ROWS,
      destSql: TABLES + ROWS
    })
    source = started.sources[0]!
    dest = started.dest
    engine = startEngine(
      pipelineConfig({
        destination: dest.url("dest"),
        sources: [
          { database: "app", urls: [{ url: source.url("app"), sid: "" }], tables: ["acct", "tally", `Odd "Name"`] }
        ]
      })
    )
    writer = new pg.Client({ connectionString: source.url("app") })
    await writer.connect()
    await waitFor("slot active", async () => {
      const rows = await source.query("select count(*)::int n from pg_replication_slots where active", [], "app")
      return rows[0].n >= 1
    })
  })
  afterAll(async () => {
    await writer?.end().catch(() => undefined)
    await engine?.stop()
    await stopServers(source ? [source] : [], dest)
  })

  /** `count` source transactions, each adding 1 to a row of every table, `gapMs` apart */
  const load = async (count: number, gapMs: number) => {
    for (let i = 0; i < count; i++) {
      const id = 1 + (tick++ % 50)
      await writer.query(
        `begin; update acct set n = n + 1 where id = ${id}; update tally set n = n + 1 where id = ${id};
         update "Odd ""Name""" set n = n + 1 where id = ${id}; commit`
      )
      await new Promise((r) => setTimeout(r, gapMs))
    }
  }

  const equal = async () =>
    JSON.stringify(await dest.query(state, [], "dest")) === JSON.stringify(await source.query(state, [], "app"))

  it("a steady stream of small transactions commits fewer destination transactions than batches", async () => {
    await load(5, 5)
    await waitFor("first changes", equal)
    // transaction ids the destination handed out: one per writing transaction (the test's reads take none)
    const nextXid = async () =>
      Number((await dest.query("select pg_snapshot_xmax(pg_current_snapshot())::text x", [], "dest"))[0].x)
    const [x0, b0] = [await nextXid(), await batches()]
    await load(150, 8)
    await waitFor("stream applied", equal)
    const [x1, b1] = [await nextXid(), await batches()]
    // the three tables' batches of a tick share a transaction; alone, each batch would be one (153 for 153
    // with rounds off; with them about 0.4 of the batches on an idle machine, up to 0.66 on a loaded one)
    expect(b1 - b0).toBeGreaterThan(100)
    expect(x1 - x0).toBeLessThan(0.85 * (b1 - b0))
  })

  it("a row lock on one destination table holds up that table only; then everything equals the source", async () => {
    const locker = new pg.Client({ connectionString: dest.url("dest") })
    await locker.connect()
    try {
      await locker.query("begin; select * from acct where id between 1 and 50 for update")
      const before = await dest.query(state, [], "dest")
      await load(40, 10)
      const expected = await source.query(state, [], "app")
      await waitFor("the unlocked tables", async () => {
        const got = (await dest.query(state, [], "dest"))[0]
        return got.t === expected[0].t && got.o === expected[0].o
      })
      expect((await dest.query(state, [], "dest"))[0].a).toBe(before[0].a)
      await locker.query("commit")
      await waitFor("every table", equal)
      expect(await dest.query(state, [], "dest")).toEqual(expected)
      expect(engine.failed()).toBe(false)
    } finally {
      await locker.end().catch(() => undefined)
    }
  })
})
