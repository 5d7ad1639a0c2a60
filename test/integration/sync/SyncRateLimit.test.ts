/**
 * Rate limits: a table added while the source streams, copied at R rows/s (global `tuning` limit), takes
 * about N/R seconds, while changes to another table keep arriving within a second; a resync under a
 * per-source bytes/s limit takes about bytes/limit seconds. Bands, not points: timers and the copy's own
 * pace add a little.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import { pipelineConfig, startEngine, waitFor } from "../../support/engine.js"
import { startEngineWithResync, syncChunks, syncDone } from "../../support/syncSupport.js"

const N = 40_000
const RATE_ROWS = 8_000
const RATE_BYTES = 500_000

describe("initial-sync rate limits", () => {
  let src: TestPg
  let dest: TestPg

  beforeAll(async () => {
    ;[src, dest] = await startTestPgs(2, { version: latestVersion() })
    await src.createDatabase("app")
    await src.query(
      `create table pulse (id serial primary key, at timestamptz not null default clock_timestamp());
       create table slow (id bigint primary key, v text);
       insert into slow select g, md5(g::text) from generate_series(1, ${N}) g;`,
      [],
      "app"
    )
    await dest.createDatabase("dest")
    await dest.query(
      `create table pulse (id int primary key, at timestamptz not null, arrived timestamptz not null default clock_timestamp());
       create table slow (id bigint primary key, v text);`,
      [],
      "dest"
    )
  })

  afterAll(async () => {
    await Promise.all([src?.stop(), dest?.stop()])
  })

  const config = (tables: ReadonlyArray<string>, tuning: Parameters<typeof pipelineConfig>[0]["tuning"] = {}) =>
    pipelineConfig({
      destination: dest.url("dest"),
      sources: [{ database: "app", urls: [{ url: src.url("app"), sid: "" }], tables }],
      tuning: { syncChunkRows: 10_000, syncParallelism: 2, ...tuning }
    })

  const seconds = async () => {
    const [r] = await dest.query(
      "select extract(epoch from finished_at - started_at)::float8 as s from walferry.sync_tables where target = 'slow'",
      [],
      "dest"
    )
    return r.s as number
  }

  it("R rows/s: N rows take about N/R s, and the stream is not slowed", async () => {
    const first = startEngine(config(["pulse"]))
    try {
      await waitFor("pulse synced", () => syncDone(dest, "dest", ["pulse"]))
    } finally {
      await first.stop()
    }

    const engine = startEngine(config(["pulse", "slow"], { syncRateRows: RATE_ROWS }))
    let pulses = 0
    try {
      await waitFor("slow sync started", async () => (await syncChunks(dest, "dest", "slow")).length > 0)
      // a copy that never ends fails here, with the engine stopped, not at the test's timeout with it running
      const deadline = Date.now() + 12 * (N / RATE_ROWS) * 1000
      while (!(await syncDone(dest, "dest", ["slow"]))) {
        if (Date.now() > deadline || engine.failed()) {
          const chunks = await syncChunks(dest, "dest", "slow")
          throw new Error(
            `the rate-limited copy did not finish (engine failed: ${engine.failed()}; chunks: ${JSON.stringify(chunks)})`
          )
        }
        await src.query("insert into pulse default values", [], "app")
        pulses++
        await new Promise((r) => setTimeout(r, 100))
      }
      await waitFor("pulses arrived", async () => {
        const [r] = await dest.query("select count(*)::int as n from pulse", [], "dest")
        return r.n === pulses
      })
    } finally {
      await engine.stop()
    }
    const took = await seconds()
    console.log(`rows/s limit: ${N} rows at ${RATE_ROWS}/s took ${took.toFixed(2)} s`)
    expect(took).toBeGreaterThan(0.8 * (N / RATE_ROWS))
    expect(took).toBeLessThan(1.5 * (N / RATE_ROWS))
    expect(pulses).toBeGreaterThan(20)
    const [lag] = await dest.query("select max(extract(epoch from arrived - at))::float8 as s from pulse", [], "dest")
    expect(lag.s).toBeLessThan(1)
  })

  it("per-source bytes/s: a resync takes about bytes/limit s", async () => {
    const base = config(["pulse", "slow"])
    const engine = startEngineWithResync({
      ...base,
      sources: base.sources.map((g) => ({ ...g, syncRateBytes: RATE_BYTES }))
    })
    try {
      await new Promise((r) => setTimeout(r, 1_000))
      const [before] = await dest.query("select started_at from walferry.sync_tables where target = 'slow'", [], "dest")
      await engine.resync("slow")
      await waitFor(
        "resync done",
        async () => {
          const [r] = await dest.query(
            "select state, started_at from walferry.sync_tables where target = 'slow'",
            [],
            "dest"
          )
          return r.state === "done" && r.started_at > before.started_at
        },
        60_000
      )
    } finally {
      await engine.stop()
    }
    const [b] = await dest.query(
      "select sum(bytes)::float8 as b from walferry.sync_chunks where target = 'slow'",
      [],
      "dest"
    )
    expect(b.b).toBeGreaterThan(N * 30)
    const took = await seconds()
    console.log(`bytes/s limit: ${b.b} bytes at ${RATE_BYTES}/s took ${took.toFixed(2)} s`)
    expect(took).toBeGreaterThan(0.8 * (b.b / RATE_BYTES))
    expect(took).toBeLessThan(1.5 * (b.b / RATE_BYTES))
  })
})
