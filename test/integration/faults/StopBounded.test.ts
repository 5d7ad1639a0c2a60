/**
 * A stop never waits forever for a connection to close: node-postgres's `end()` resolves only once the socket
 * has closed, which a half-open connection may never do, and a scope's finalizer cannot be interrupted. Here
 * the slot monitor's `end()` never resolves (and sends nothing): the engine must still stop within 10 s, and
 * the monitor's session must be gone from the source (its socket destroyed, lib/closeClient).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { pipelineConfig, startEngine, waitFor } from "../../support/engine.js"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { syncDone } from "../../support/syncSupport.js"
import { latestVersion } from "../../support/versions.js"

const STOP_WITHIN_MS = 10_000

const monitorSessions = async (src: TestPg) =>
  Number(
    (
      await src.query(
        "select count(*) as n from pg_stat_activity where application_name = 'walferry_app_monitor'",
        [],
        "app"
      )
    )[0].n
  )

describe("engine stop with a connection that never finishes closing", () => {
  let src: TestPg
  let dest: TestPg

  beforeAll(async () => {
    ;[src, dest] = await startTestPgs(2, { version: latestVersion() })
    await src.createDatabase("app")
    await src.query("create table pulse (id int primary key, v text); insert into pulse values (1, 'a')", [], "app")
    await dest.createDatabase("dest")
    await dest.query("create table pulse (id int primary key, v text)", [], "dest")
  })

  afterAll(async () => {
    await Promise.all([src?.stop(), dest?.stop()])
  })

  it("stops within 10 s when the slot monitor's end() never resolves", async () => {
    const end = pg.Client.prototype.end
    const hung: Array<string> = []
    pg.Client.prototype.end = function (this: pg.Client, ...args: Array<unknown>) {
      const app = (this as unknown as { connectionParameters?: { application_name?: string } }).connectionParameters
        ?.application_name
      if (args.length === 0 && app?.endsWith("_monitor") === true) {
        hung.push(app)
        return new Promise<void>(() => undefined)
      }
      return (end as (...a: Array<unknown>) => unknown).apply(this, args)
    } as typeof end
    try {
      const engine = startEngine(
        pipelineConfig({
          destination: dest.url("dest"),
          sources: [{ database: "app", urls: [{ url: src.url("app"), sid: "" }], tables: ["pulse"] }]
        })
      )
      await waitFor("pulse synced", () => syncDone(dest, "dest", ["pulse"]))
      await waitFor("the slot monitor connected", async () => (await monitorSessions(src)) === 1)

      const started = Date.now()
      let timer: NodeJS.Timeout | undefined
      const stopped = await Promise.race([
        engine.stop().then(() => true),
        new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), STOP_WITHIN_MS)))
      ]).finally(() => clearTimeout(timer))
      expect(stopped, `the engine did not stop within ${STOP_WITHIN_MS} ms`).toBe(true)
      expect(hung).toEqual(["walferry_app_monitor"])
      expect(Date.now() - started).toBeLessThan(STOP_WITHIN_MS)
      await waitFor("the monitor's session to end", async () => (await monitorSessions(src)) === 0, 5_000)
    } finally {
      pg.Client.prototype.end = end
    }
  })
})
