/**
 * Cluster mode with more sources than the cluster storage pool's base size: one runner owns twelve sources
 * (databases on two source servers), which is what a consolidation of many tenant databases onto a few
 * runners looks like. Each owned source holds a session of the storage pool for its hand-over lock
 * (SourceLock), so a pool sized without them would leave @effect/cluster and the locks of the last sources
 * waiting for sessions that never come back. Checked: every source streams on the runner, a change made in
 * each arrives, and the runner stays alive in the cluster view.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { waitFor } from "../../support/engine.js"
import { freePort } from "../../support/PgServer.js"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import { startWalferry, stopAllWalferry } from "../../support/WalferryProcess.js"

const PER_SERVER = 6
const SOURCES = Array.from({ length: 2 * PER_SERVER }, (_, i) => `m${i + 1}`)

describe("cluster: one runner owning more sources than the storage pool's base size", () => {
  let srcA: TestPg
  let srcB: TestPg
  let dest: TestPg

  beforeAll(async () => {
    ;[srcA, srcB, dest] = await startTestPgs(3, { version: latestVersion() })
  })

  afterAll(async () => {
    await stopAllWalferry()
    await Promise.all([srcA?.stop(), srcB?.stop(), dest?.stop()])
  })

  it("streams all twelve sources and applies a change of each", async () => {
    const serverOf = (i: number) => (i < PER_SERVER ? srcA : srcB)
    for (const [i, db] of SOURCES.entries()) {
      await serverOf(i).createDatabase(db)
      await serverOf(i).query(`create table t (id int primary key, v text)`, [], db)
    }
    await dest.createDatabase("mdest")
    await dest.query(`create table t_all (sid text, id int, v text, primary key (sid, id))`, [], "mdest")
    const address = `127.0.0.1:${await freePort()}`
    const proc = await startWalferry({
      destination: dest.url("mdest"),
      map: [
        {
          database: "tenants",
          urls: SOURCES.map((db, i) => ({ url: serverOf(i).url(db), sid: db })),
          tables: { t: { target: "t_all" } }
        }
      ],
      tuning: { status_interval_ms: 200 },
      extra: { cluster: { enabled: true, runner_address: address } }
    })
    const streaming = async () =>
      (await proc.status().catch(() => undefined))?.sources.filter(
        (s) => s.owner === address && s.state === "streaming"
      ).length ?? 0
    const arrived = async () =>
      Number(
        (await dest.query<{ n: string }>(`select count(*)::text as n from t_all where v = sid`, [], "mdest"))[0]!.n
      )
    const alive = async () => (await proc.status()).cluster?.runnersAlive ?? []
    await waitFor(
      "every source streaming on the runner",
      async () => (await streaming()) === SOURCES.length,
      120_000
    ).catch((e: Error) => {
      throw new Error(`${e.message}\nrunner output:\n${proc.output()}`)
    })
    for (const [i, db] of SOURCES.entries()) await serverOf(i).query(`insert into t values (1, $1)`, [db], db)
    await waitFor("a change of every source applied", async () => (await arrived()) === SOURCES.length, 60_000)
    await waitFor("the runner alive in the cluster view", async () => (await alive()).length > 0)
    expect(await alive()).toEqual([address])
    proc.kill("SIGTERM")
    expect((await proc.waitExit(30_000)).code).toBe(0)
  }, 240_000)
})
