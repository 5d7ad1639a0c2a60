/**
 * Cluster hand-over order with real processes: a runner that gives a source up (here: a second runner joins
 * and takes shards from it) must close the source's stream (drain, final confirmation, replication
 * connection) before it releases the source's lock, which is what lets the new owner read the destination
 * positions and open the slot. Checked from the first runner's debug log: for every source it released, its
 * "stream closed" comes before "source released by this runner"; and the moved source streams on its new
 * owner, a change made there arrives once.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { waitFor } from "../../support/engine.js"
import { freePort } from "../../support/PgServer.js"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import { startWalferry, stopAllWalferry, type WalferryProcess } from "../../support/WalferryProcess.js"

const SOURCES = ["h1", "h2", "h3", "h4"] as const

describe("cluster: a runner giving a source up closes its stream before releasing it", () => {
  let src: TestPg
  let dest: TestPg

  beforeAll(async () => {
    ;[src, dest] = await startTestPgs(2, { version: latestVersion() })
  })

  afterAll(async () => {
    await stopAllWalferry()
    await Promise.all([src?.stop(), dest?.stop()])
  })

  it("stream closed, then lock released; the new owner applies the source's changes", async () => {
    for (const db of SOURCES) {
      await src.createDatabase(db)
      await src.query(`create table t (id int primary key, v text)`, [], db)
    }
    await dest.createDatabase("hdest")
    await dest.query(`create table t_all (sid text, id int, v text, primary key (sid, id))`, [], "hdest")
    const start = async (logLevel: "debug" | "info") => {
      const address = `127.0.0.1:${await freePort()}`
      const proc = await startWalferry({
        destination: dest.url("hdest"),
        map: [
          {
            database: "shop",
            urls: SOURCES.map((db) => ({ url: src.url(db), sid: db })),
            tables: { t: { target: "t_all" } }
          }
        ],
        tuning: { status_interval_ms: 200 },
        extra: { cluster: { enabled: true, runner_address: address } },
        logLevel,
        keepLines: 100_000
      })
      return { address, proc }
    }
    const streamingOn = async (r: { address: string; proc: WalferryProcess }) =>
      ((await r.proc.status().catch(() => undefined))?.sources ?? [])
        .filter((s) => s.owner === r.address && s.state === "streaming")
        .map((s) => s.sid)
    const a = await start("debug")
    await waitFor(
      "runner A streaming every source",
      async () => (await streamingOn(a)).length === SOURCES.length,
      90_000
    )
    const b = await start("info")
    let moved: Array<string> = []
    await waitFor(
      "sources moved to runner B, every source streaming on one runner",
      async () => {
        moved = await streamingOn(b)
        return moved.length > 0 && moved.length + (await streamingOn(a)).length === SOURCES.length
      },
      90_000
    )

    const lines = a.proc.output().split("\n")
    for (const sid of moved) {
      const of = (text: string) =>
        lines.findIndex((l) => l.includes(`message="${text}"`) && l.includes(`source=shop/${sid}`))
      const closed = of("stream closed")
      const released = of("source released by this runner")
      expect(released, `runner A released shop/${sid}`).toBeGreaterThan(-1)
      expect(closed, `runner A closed the stream of shop/${sid}`).toBeGreaterThan(-1)
      expect(closed, `shop/${sid}: stream closed before the lock was released`).toBeLessThan(released)
    }

    for (const sid of moved) await src.query(`insert into t values (1, $1)`, [sid], sid)
    await waitFor(
      "the moved sources' rows",
      async () => {
        const [row] = await dest.query<{ n: string }>(
          `select count(*)::text as n from t_all where v = sid and sid = any($1)`,
          [moved],
          "hdest"
        )
        return Number(row!.n) === moved.length
      },
      60_000
    )
    for (const r of [a, b]) r.proc.kill("SIGTERM")
    for (const r of [a, b]) expect((await r.proc.waitExit(30_000)).code).toBe(0)
  }, 240_000)
})
