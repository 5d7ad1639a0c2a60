/**
 * `walferry check` on a Postgres 17 source URL naming a primary and its physical standby: what is missing for
 * the standby to carry walferry's failover slot is reported with the setting to change, and a correctly set
 * up pair is reported as ready.
 */
import { afterAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { runCheck, type CheckReport } from "../../../src/cli/Check.js"
import { primaryStandbySettings, startStandby } from "../../../src/embedded/Standby.js"
import { walferryConfig } from "../../support/configFixture.js"
import { startPgServer, type PgServer } from "../../support/PgServer.js"

const TABLE = "create table accounts (id int primary key, name text)"
const servers: Array<PgServer> = []

const pairOf = async (primarySettings: Record<string, string>, standbySettings: Record<string, string>) => {
  const primary = await startPgServer({ version: 17, settings: primarySettings })
  servers.push(primary)
  await primary.createDatabase("src")
  await primary.createDatabase("dst")
  await primary.query(TABLE, [], "src")
  await primary.query(TABLE, [], "dst")
  const standby = await startStandby(primary, { settings: standbySettings })
  servers.push(standby)
  const url = `postgres://postgres@127.0.0.1:${primary.port},127.0.0.1:${standby.port}/src?target_session_attrs=read-write`
  return walferryConfig({
    destination: primary.url("dst"),
    sources: [{ database: "db1", urls: [{ url, sid: "a" }], tables: ["accounts"] }]
  })
}

const messages = (report: CheckReport, severity: string) =>
  report.findings.filter((f) => f.severity === severity).map((f) => f.message)

describe("walferry check: can a standby carry the slot through a failover (17)", () => {
  afterAll(async () => {
    await Promise.all(servers.map((s) => s.stop()))
  })

  it.live("names every missing setting on the primary and the standby", () =>
    Effect.gen(function* () {
      const config = yield* Effect.promise(() =>
        pairOf(
          {},
          { sync_replication_slots: "off", hot_standby_feedback: "off", synchronized_standby_slots: "standby1" }
        )
      )
      const warnings = messages(yield* runCheck(config), "warning")
      const text = warnings.join("\n")
      expect(text).toContain("synchronized_standby_slots is empty")
      expect(text).toContain("physical slots here: standby1")
      expect(text).toMatch(
        /cannot carry slot "walferry_db1_a" through a failover: set sync_replication_slots = on, hot_standby_feedback = on/
      )
      expect(text).toContain("has synchronized_standby_slots = 'standby1': once promoted")
      expect(text).toContain(`does not name standby 127.0.0.1:`)
    })
  )

  it.live("a pair set up as documented has no failover warning", () =>
    Effect.gen(function* () {
      const config = yield* Effect.promise(() => pairOf(primaryStandbySettings(17), {}))
      const report = yield* runCheck(config)
      expect(messages(report, "warning").filter((m) => /standby|synchronized_standby_slots|failover/.test(m))).toEqual(
        []
      )
      expect(messages(report, "info").join("\n")).toMatch(
        /standby 127\.0\.0\.1:\d+\/src is set up to carry slot "walferry_db1_a"/
      )
    })
  )
})
