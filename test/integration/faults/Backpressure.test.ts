/**
 * Backpressure of the real walferry process with default-like tuning (mailbox 8192, batch 5000): memory stays
 * bounded (RSS sampled from /proc < 300 MB) while the destination is blocked under a 1,000,000-row burst, and
 * while a single 2,000,000-row transaction replicates; afterwards every row has arrived, unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import {
  sleep,
  startWalferry,
  stopAllWalferry,
  tableDigest,
  waitStreaming,
  type WalferryProcess
} from "../../support/WalferryProcess.js"

/**
 * The target. Measured before: ~160 MB while blocked, 350-365 MB at the peak of draining (V8 let the
 * old generation grow to 4x its live size with promoted garbage). With messages decoded on arrival (no copy)
 * and bin/walferry.js's heap-growing setting (2x): ~230 MB draining the burst and the 2M-row transaction.
 */
const MAX_RSS_MB = 300
const DB = "bp"
const TUNING = {
  writers: 4,
  batch_size: 5000,
  commit_interval_ms: 200,
  mailbox_capacity: 8192,
  status_interval_ms: 1000
}

describe("backpressure (walferry process, real Postgres)", () => {
  let source: TestPg
  let dest: TestPg
  let proc: WalferryProcess

  const count = async (table: string) =>
    Number((await dest.query<{ n: string }>(`select count(*) as n from ${table}`, [], DB))[0]!.n)

  /**
   * waits for `n` rows in the destination table; fails early when walferry dies, stops the table or restarts its
   * source (no fault is injected here, so any source restart is a failure)
   */
  const waitRows = async (table: string, n: number, timeoutMs: number) => {
    const started = Date.now()
    let got = -1
    while (Date.now() - started < timeoutMs) {
      got = await count(table)
      if (got === n) return Date.now() - started
      if (proc.exited()) break
      const status = await proc.status().catch(() => undefined)
      if (status?.tables.find((x) => x.target === table)?.state === "stopped") break
      if (status?.sources.some((x) => x.restarts > 0 || x.error !== null)) break
      await sleep(500)
    }
    const status = await proc.status().then(
      (s) => JSON.stringify(s),
      (e) => String(e)
    )
    throw new Error(
      `${got} of ${n} rows in ${table} after ${Date.now() - started} ms\nstatus: ${status}\n` +
        `walferry output:\n${proc.output()}`
    )
  }

  beforeAll(async () => {
    const servers = await startTestPgs(2, { version: latestVersion() })
    source = servers[0]
    dest = servers[1]
    await Promise.all([source.createDatabase(DB), dest.createDatabase(DB)])
    const ddl = `create table burst (id bigint primary key, v text); create table big (id bigint primary key, v text);`
    await source.query(ddl, [], DB)
    await dest.query(ddl, [], DB)
  })

  /** one walferry process per case, each following one table (its own slot) */
  const start = async (table: string) => {
    proc = await startWalferry({
      destination: dest.url(DB),
      map: [{ database: `${DB}_${table}`, urls: [{ url: source.url(DB), sid: "a" }], tables: { [table]: null } }],
      tuning: TUNING
    })
    await waitStreaming(proc)
  }

  afterAll(async () => {
    await stopAllWalferry()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("a 1,000,000-row burst against a blocked destination stays bounded, then arrives completely", async () => {
    await start("burst")
    const baseline = proc.rssMb()
    const lock = new pg.Client({ connectionString: dest.url(DB) })
    lock.on("error", () => undefined)
    await lock.connect()
    let blockedMax = 0
    try {
      await lock.query("begin")
      await lock.query("lock table burst in access exclusive mode")
      const stopSampling = proc.sampleRss(100)
      // 1,000 transactions of 1,000 rows, from two clients
      await Promise.all(
        [0, 1].map(async (w) => {
          const c = new pg.Client({ connectionString: source.url(DB) })
          await c.connect()
          try {
            for (let i = w; i < 1000; i += 2) {
              const [lo, hi] = [i * 1000 + 1, (i + 1) * 1000]
              await c.query(
                `insert into burst select g, md5(g::text) || md5((g * 7)::text) from generate_series(${lo}, ${hi}) g`
              )
            }
          } finally {
            await c.end()
          }
        })
      )
      await sleep(6_000) // blocked with the backlog: memory must stay flat
      blockedMax = stopSampling()
      expect(blockedMax, `max RSS while blocked (baseline ${baseline.toFixed(0)} MB)\n${proc.output()}`).toBeLessThan(
        MAX_RSS_MB
      )
      const status = await proc.status()
      const t = status.tables.find((x) => x.target === "burst")!
      expect(t.rowsApplied, "nothing applied while the table is locked").toBe(0)
      expect(t.mailboxDepth).toBeLessThanOrEqual(8192 + 1)
      expect(proc.exited()).toBeUndefined()
    } finally {
      await lock.query("commit").catch(() => undefined)
      await lock.end()
    }
    const stopDrain = proc.sampleRss(100)
    let ms = 0
    let drainMax = 0
    try {
      ms = await waitRows("burst", 1_000_000, 120_000)
    } finally {
      drainMax = stopDrain()
    }
    console.info(
      `backpressure: baseline ${baseline.toFixed(0)} MB, blocked max ${blockedMax.toFixed(0)} MB, ` +
        `drain max ${drainMax.toFixed(0)} MB, 1M rows drained in ${ms} ms`
    )
    expect(drainMax, `max RSS while draining\n${proc.output()}`).toBeLessThan(MAX_RSS_MB)
    expect(await tableDigest(dest, DB, "burst", "id")).toBe(await tableDigest(source, DB, "burst", "id"))
    await proc.stop()
  })

  it("a single 2,000,000-row transaction replicates with bounded memory", async () => {
    await start("big")
    const stopSampling = proc.sampleRss(100)
    const started = Date.now()
    let max = 0
    try {
      await source.query("insert into big select g, md5(g::text) from generate_series(1, 2000000) g", [], DB)
      await waitRows("big", 2_000_000, 150_000)
    } finally {
      max = stopSampling()
    }
    console.info(
      `backpressure: 2M-row transaction replicated in ${Date.now() - started} ms, max RSS ${max.toFixed(0)} MB`
    )
    expect(max, `max RSS during the 2M-row transaction\n${proc.output()}`).toBeLessThan(MAX_RSS_MB)
    expect(await tableDigest(dest, DB, "big", "id")).toBe(await tableDigest(source, DB, "big", "id"))
    await proc.stop()
  })
})
