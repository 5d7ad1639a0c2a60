import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { exitCode, formatReport, runCheck, type CheckReport, type Severity } from "../../../src/cli/Check.js"
import { walferryConfig } from "../../support/configFixture.js"
import { testPg, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"

const TABLE = "create table accounts (id int primary key, name text, balance numeric(10,2))"

const of = (report: CheckReport, severity: Severity) => report.findings.filter((f) => f.severity === severity)

const withUser = (url: string, user: string, password: string) => {
  const u = new URL(url)
  u.username = user
  u.password = encodeURIComponent(password)
  return u.toString()
}

const setup = async (server: TestPg) => {
  const source = await server.createDatabase("src")
  const destination = await server.createDatabase("dst")
  await server.query(TABLE, [], "src")
  await server.query(TABLE, [], "dst")
  return { source, destination }
}

const single = (source: string, destination: string) =>
  walferryConfig({
    destination,
    sources: [{ database: "db1", urls: [{ url: source, sid: "a" }], tables: ["accounts"] }]
  })

describe("walferry check on misconfigured servers", () => {
  it.scopedLive("reports wal_level = replica as an error naming the setting", () =>
    Effect.gen(function* () {
      const server = yield* testPg({ version: latestVersion(), walLevel: "replica" })
      const { source, destination } = yield* Effect.promise(() => setup(server))
      const report = yield* runCheck(single(source, destination))
      const [walLevel] = of(report, "error")
      expect(walLevel?.message).toContain('wal_level is "replica"')
      expect(walLevel?.message).toContain("wal_level = logical")
      expect(exitCode(report)).not.toBe(0)
      expect(formatReport(report)).toContain("replication would not start")
    })
  )

  it.scopedLive("reports too few max_replication_slots for the source URLs of one server", () =>
    Effect.gen(function* () {
      const server = yield* testPg({ version: latestVersion(), settings: { max_replication_slots: 1 } })
      const { source, destination } = yield* Effect.promise(() => setup(server))
      const second = yield* Effect.promise(() => server.createDatabase("src2"))
      yield* Effect.promise(() => server.query(TABLE, [], "src2"))
      const urls = [
        { url: source, sid: "a" },
        { url: second, sid: "b" }
      ]
      const report = yield* runCheck(
        walferryConfig({ destination, sources: [{ database: "db1", urls, tables: ["accounts"] }] })
      )
      const errors = of(report, "error").map((f) => f.message)
      expect(errors).toHaveLength(1)
      expect(errors[0]).toContain("max_replication_slots is 1")
      expect(errors[0]).toContain("2 are needed: 2 for walferry (db1/a, db1/b)")
      expect(exitCode(report)).toBe(1)
    })
  )

  it.scopedLive("says authentication failed on a wrong password, without showing it", () =>
    Effect.gen(function* () {
      const dir = mkdtempSync(join(tmpdir(), "walferry-hba-"))
      yield* Effect.addFinalizer(() => Effect.sync(() => rmSync(dir, { recursive: true, force: true })))
      const hba = join(dir, "pg_hba.conf")
      writeFileSync(
        hba,
        [
          "host all postgres 127.0.0.1/32 trust",
          "host all all 127.0.0.1/32 scram-sha-256",
          "host replication postgres 127.0.0.1/32 trust",
          "host replication all 127.0.0.1/32 scram-sha-256",
          ""
        ].join("\n")
      )
      chmodSync(dir, 0o755)
      chmodSync(hba, 0o644)
      const server = yield* testPg({
        version: latestVersion(),
        settings: { hba_file: hba, password_encryption: "scram-sha-256" }
      })
      const { source, destination } = yield* Effect.promise(() => setup(server))
      yield* Effect.promise(() => server.query("create role alice login replication password 'correct-horse'"))
      const wrong = "Wr0ng:S3cret@pw"
      const report = yield* runCheck(single(withUser(source, "alice", wrong), destination))
      const [auth] = of(report, "error")
      expect(auth?.message).toContain('password authentication failed for user "alice"')
      for (const text of [JSON.stringify(report), formatReport(report)]) {
        expect(text).not.toContain("S3cret")
        expect(text).not.toContain(encodeURIComponent(wrong))
      }
      const right = yield* runCheck(single(withUser(source, "alice", "correct-horse"), destination))
      expect(
        of(right, "error")
          .map((f) => f.message)
          .join("\n")
      ).not.toContain("authentication failed")
      expect(formatReport(right)).not.toContain("correct-horse")
    })
  )
})
