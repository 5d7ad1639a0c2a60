/**
 * `walferry verify` while walferry streams (the in-process engine, sources 13, 15 and 17 into one shared
 * target sliced by sid): with a random insert/update/delete workload running on every source, verify waits
 * for the destination to confirm each source's start position, re-checks ranges that differ while changes
 * are in flight, and ends equal; with --repair, differences planted on the destination behind walferry's
 * back are copied again while the workload streams, and the table ends equal.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { WalferryConfig } from "../../../src/config/Config.js"
import { runVerify } from "../../../src/verify/Verify.js"
import { pipelineConfig, startEngine, waitFor, type RunningEngine } from "../../support/engine.js"
import { type TestPg } from "../../support/Pg.js"
import { startLoad, type Load } from "../../support/syncSupport.js"
import { startSourcesAndDestination, stopServers } from "../../support/servers.js"

const ROWS = 20_000
/** the workload touches ids below this; planted differences are above it */
const LOAD_IDS = 12_000

const SOURCE_DDL = `
  create table acct (id bigint primary key, v int not null, t text);
  insert into acct select g, g % 100, md5(g::text) from generate_series(1, ${ROWS}) g;`
const DEST_DDL = `create table acct (sid text, id bigint, v int not null, t text, primary key (sid, id));`

describe("verify while streaming", () => {
  const sources: Array<TestPg> = []
  let dest: TestPg
  let engine: RunningEngine
  let config: WalferryConfig

  const startLoads = () =>
    Promise.all(
      sources.map((s) =>
        startLoad(s.url("db"), {
          table: "acct",
          maxId: LOAD_IDS,
          insert: "(id, v, t) values ($1, -1, 'new')",
          set: "v = v + 1, t = md5(random()::text)",
          pauseMs: 2
        })
      )
    )
  const stopAfter = (loads: ReadonlyArray<Load>, ms: number) =>
    new Promise<Array<{ statements: number }>>((resolve, reject) =>
      setTimeout(() => Promise.all(loads.map((l) => l.stop())).then(resolve, reject), ms)
    )
  const verify = (repair = false) =>
    Effect.runPromise(
      runVerify(config, { repair, rangeRows: 4_000, leafRows: 200, settleRounds: 30, settleMs: 300, catchUpMs: 30_000 })
    )

  beforeAll(async () => {
    const started = await startSourcesAndDestination({
      database: "db",
      sourceSql: SOURCE_DDL,
      destSql: DEST_DDL
    })
    dest = started.dest
    sources.push(...started.sources)
    config = pipelineConfig({
      destination: dest.url("dest"),
      sources: [
        { database: "db", urls: sources.map((s) => ({ url: s.url("db"), sid: String(s.version) })), tables: ["acct"] }
      ]
    })
    engine = startEngine(config)
    await waitFor(
      "initial copy",
      async () => (await dest.query("select count(*)::int n from acct", [], "dest"))[0].n === ROWS * sources.length,
      120_000
    )
  })

  afterAll(async () => {
    await engine?.stop()
    await stopServers(sources, dest)
  })

  it("ends equal while a workload streams through walferry", async () => {
    const loads = await startLoads()
    await new Promise((r) => setTimeout(r, 1_000))
    const stopped = stopAfter(loads, 2_500)
    const report = await verify()
    const statements = await stopped
    expect(statements.every((s) => s.statements > 0)).toBe(true)
    expect(engine.failed()).toBe(false)
    expect(report.catchUp.map((c) => c.state)).toEqual(sources.map(() => "reached"))
    for (const t of report.tables) expect(t).toMatchObject({ verdict: "equal", sourceRows: expect.any(Number) })
    expect(report.verdict).toBe("equal")
    console.log(report.tables.map((t) => `${t.source}: ${t.rounds} round(s), ${t.differingRanges} range(s) differed`))
  })

  it("--repair while streaming copies the planted differences again and ends equal", async () => {
    const sid = String(sources[0]!.version)
    await dest.query(
      `delete from acct where sid = $1 and id = 15001;
       update acct set v = -7 where sid = $1 and id = 17002;
       insert into acct values ($1, 50000, 1, 'extra')`.replace(/\$1/g, `'${sid}'`),
      [],
      "dest"
    )
    const loads = await startLoads()
    const stopped = stopAfter(loads, 2_000)
    const report = await verify(true)
    await stopped
    const planted = report.tables.find((t) => t.source === `db/${sid}`)!
    expect(planted.repaired).toMatchObject({ ranges: expect.any(Number) })
    expect(planted.repaired!.ranges).toBeGreaterThanOrEqual(2)
    expect(report.verdict).toBe("equal")
    expect(engine.failed()).toBe(false)
    expect(
      await dest.query(
        "select id, v from acct where sid = $1 and id in (15001, 17002, 50000) order by id",
        [sid],
        "dest"
      )
    ).toEqual([
      { id: "15001", v: 15001 % 100 },
      { id: "17002", v: 17002 % 100 }
    ])
    expect((await verify()).verdict).toBe("equal")
  })
})
