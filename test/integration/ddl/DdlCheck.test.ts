/**
 * DDL capture on the source: install is idempotent and records DDL with before/after columns, remove drops it,
 * and `walferry check` reports a role that cannot install it (until a superuser installed it once).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import pg from "pg"
import { formatReport, runCheck } from "../../../src/cli/Check.js"
import { applyCaptureMode, captureInstalled } from "../../../src/ddl/DdlCapture.js"
import { walferryConfig } from "../../support/configFixture.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"

const withUser = (url: string, user: string) => {
  const u = new URL(url)
  u.username = user
  u.password = "pw"
  return u.toString()
}

describe("DDL capture install and check", () => {
  let server: TestPg
  let source: string
  let destination: string

  beforeAll(async () => {
    server = await startTestPg({ version: latestVersion() })
    source = await server.createDatabase("src")
    destination = await server.createDatabase("dst")
    await server.query("create table t (id int primary key, a text); create role ddl_r login replication password 'pw'")
    await server.query("create table t (id int primary key, a text); grant all on t to ddl_r", [], "src")
    await server.query("create table t (id int primary key, a text)", [], "dst")
  })

  afterAll(async () => {
    await server?.stop()
  })

  const withClient = <A>(url: string, f: (c: pg.Client) => Effect.Effect<A, unknown>) =>
    Effect.acquireUseRelease(
      Effect.promise(async () => {
        const c = new pg.Client({ connectionString: url })
        await c.connect()
        return c
      }),
      f,
      (c) => Effect.promise(() => c.end())
    )
  const ref = { database: "src", sid: "" }
  const check = (url: string) => {
    const config = walferryConfig({ destination, sources: [{ database: "src", urls: [url], tables: ["t"] }] })
    return runCheck({ ...config, sources: config.sources.map((g) => ({ ...g, ddl: "capture" as const })) })
  }
  const ddlErrors = (report: Effect.Effect.Success<ReturnType<typeof runCheck>>) =>
    report.findings.filter((f) => f.severity === "error" && f.message.includes("ddl: capture"))

  it.live("check reports a role that cannot install capture, until it is installed", () =>
    Effect.gen(function* () {
      const before = yield* check(withUser(source, "ddl_r"))
      expect(
        ddlErrors(before).map((f) => f.message),
        formatReport(before)
      ).toEqual([
        `ddl: capture needs a superuser: role "ddl_r" cannot create walferry's event triggers (run walferry once with a superuser in this source URL to install them, or set ddl: off)`
      ])
      const failed = yield* withClient(withUser(source, "ddl_r"), (c) =>
        Effect.flip(applyCaptureMode(c, "capture", ref))
      )
      expect(failed.message).toContain("event triggers can only be created by a superuser")
      yield* withClient(source, (c) => applyCaptureMode(c, "capture", ref))
      yield* withClient(source, (c) => applyCaptureMode(c, "capture", ref))
      expect(yield* withClient(source, (c) => captureInstalled(c))).toBe(true)
      const after = yield* check(withUser(source, "ddl_r"))
      expect(ddlErrors(after), formatReport(after)).toEqual([])
    })
  )

  it.live("records each table DDL with the columns before and after; remove uninstalls", () =>
    Effect.gen(function* () {
      yield* Effect.promise(() =>
        server.query(
          "alter table t rename column a to b; create temp table tmp (x int); create table u (x int)",
          [],
          "src"
        )
      )
      const events = yield* Effect.promise(() =>
        server.query(
          `select command, table_name, before->1->>'name' as before, after->1->>'name' as after
           from walferry.ddl_events order by id`,
          [],
          "src"
        )
      )
      expect(events).toEqual([
        { command: "ALTER TABLE", table_name: "t", before: "a", after: "b" },
        { command: "CREATE TABLE", table_name: "u", before: null, after: null }
      ])
      yield* withClient(source, (c) => applyCaptureMode(c, "remove", ref))
      expect(yield* withClient(source, (c) => captureInstalled(c))).toBe(false)
      const left = yield* Effect.promise(() =>
        server.query(
          `select (select count(*)::int from pg_event_trigger where evtname like 'walferry%') as triggers,
             to_regclass('walferry.ddl_events') is null as gone`,
          [],
          "src"
        )
      )
      expect(left).toEqual([{ triggers: 0, gone: true }])
    })
  )
})
