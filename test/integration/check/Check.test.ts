import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { randomBytes } from "node:crypto"
import { exitCode, formatReport, runCheck, type CheckReport, type Severity } from "../../../src/cli/Check.js"
import { walferryConfig, type TableSpec } from "../../support/configFixture.js"
import { startTestPg, testPg, type TestPg } from "../../support/Pg.js"
import { freePort } from "../../support/PgServer.js"
import { latestVersion, testVersions } from "../../support/versions.js"

const of = (report: CheckReport, severity: Severity) => report.findings.filter((f) => f.severity === severity)
const about = (report: CheckReport, table: string) => report.findings.filter((f) => f.table?.startsWith(`${table} →`))
const withUser = (url: string, user: string, password: string) => {
  const u = new URL(url)
  u.username = user
  u.password = encodeURIComponent(password)
  return u.toString()
}

const SOURCE_SQL = `
  create table accounts (id int primary key, name text, balance numeric(10,2));
  create table events (id int, at date, primary key (id, at)) partition by range (at);
  create table events_2024 partition of events for values from ('2024-01-01') to ('2025-01-01');
  create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01');
  create table logs (line text);
  create table rif (a int, b text);
  alter table rif replica identity full;
  create table onlysrc (id int primary key);
  create table inc (id int primary key, a text, b int, extra text);
  create table nokey (id int primary key, v text);
  create table tenant (id int primary key, v text);
`
const DESTINATION_SQL = `
  create table accounts (id int primary key, name text, balance numeric(10,2));
  create table events (id int, at date, primary key (id, at));
  create table logs (line text);
  create table rif (a int, b text);
  create table inc (other int primary key, a varchar(10), b int, req text not null);
  create table nokey (id int, v text);
  create table tenant (sid text not null, id int, v text, primary key (id));
`

const setup = async (server: TestPg) => {
  const source = await server.createDatabase("src")
  const destination = await server.createDatabase("dst")
  await server.query(SOURCE_SQL, [], "src")
  await server.query(DESTINATION_SQL, [], "dst")
  return { source, destination }
}

const single = (source: string, destination: string, tables: ReadonlyArray<string | TableSpec>) =>
  walferryConfig({ destination, sources: [{ database: "db1", urls: [{ url: source, sid: "a" }], tables }] })

describe.each(testVersions())("walferry check on Postgres %i", (version) => {
  it.scopedLive("passes a correct setup: no errors, exit code 0", () =>
    Effect.gen(function* () {
      const server = yield* testPg({ version })
      const { source, destination } = yield* Effect.promise(() => setup(server))
      const report = yield* runCheck(single(source, destination, ["accounts", "events"]))
      expect(of(report, "error"), formatReport(report)).toEqual([])
      expect(of(report, "warning"), formatReport(report)).toEqual([])
      expect(exitCode(report)).toBe(0)
      expect(
        about(report, "public.events")
          .map((f) => f.message)
          .join("\n")
      ).toContain("published through its root")
      expect(formatReport(report)).toContain("ready to replicate")
    })
  )
})

describe("walferry check findings", () => {
  let server: TestPg
  let source: string
  let destination: string
  const check = (tables: ReadonlyArray<string | TableSpec>, src = source, dst = destination) =>
    runCheck(single(src, dst, tables))

  beforeAll(async () => {
    server = await startTestPg({ version: latestVersion() })
    ;({ source, destination } = await setup(server))
  })
  afterAll(() => server?.stop())

  it.live("reports a table missing on the source", () =>
    Effect.gen(function* () {
      const report = yield* check(["accounts", "ghost"])
      const [finding] = of(report, "error").filter((f) => f.table?.startsWith("public.ghost"))
      expect(finding).toMatchObject({ side: "source", database: "db1", sid: "a" })
      expect(finding?.message).toContain("not found on the source")
      expect(finding?.url).toMatch(/^postgres:\/\/postgres@127\.0\.0\.1:\d+\//)
      expect(exitCode(report)).toBe(1)
    })
  )

  it.live("warns that a table without primary key is insert-only, and notes REPLICA IDENTITY FULL", () =>
    Effect.gen(function* () {
      const report = yield* check(["logs", "rif"])
      expect(of(report, "error"), formatReport(report)).toEqual([])
      const [logs] = about(report, "public.logs")
      expect(logs).toMatchObject({ severity: "warning", side: "source" })
      expect(logs?.message).toContain("insert-only: UPDATE and DELETE on this table will fail on the source")
      expect(about(report, "public.rif")).toMatchObject([
        {
          severity: "info",
          side: "source",
          message: "REPLICA IDENTITY FULL, no primary key: updates/deletes matched on the full row"
        },
        { severity: "warning", side: "destination" }
      ])
      expect(about(report, "public.rif")[1]?.message).toContain("replayed inserts may duplicate rows")
      expect(exitCode(report)).toBe(0)
    })
  )

  it.live("a missing destination table is an error, or a note when auto_create is on", () =>
    Effect.gen(function* () {
      const off = yield* check(["onlysrc"])
      expect(about(off, "public.onlysrc")).toMatchObject([{ severity: "error", side: "destination" }])
      expect(about(off, "public.onlysrc")[0]?.message).toContain("does not exist and auto_create is off")
      expect(exitCode(off)).toBe(1)
      const on = yield* check([{ name: "onlysrc", autoCreate: true }])
      expect(about(on, "public.onlysrc")).toMatchObject([{ severity: "info", side: "destination" }])
      expect(about(on, "public.onlysrc")[0]?.message).toContain("will be created")
      expect(exitCode(on)).toBe(0)
    })
  )

  it.live("reports incompatible destination columns and keys", () =>
    Effect.gen(function* () {
      const report = yield* check(["inc", "nokey", "tenant"])
      const inc = about(report, "public.inc").map((f) => `${f.severity}: ${f.message}`)
      expect(inc).toContain("info: source columns id, extra are not on the destination: skipped")
      expect(inc).toContain(
        "error: destination columns other, req are NOT NULL without a default and not on the source: inserts would fail"
      )
      expect(inc).toContain("warning: column a: source type text, destination type character varying(10)")
      expect(inc).toContain(
        "error: source key column id is not on the destination: updates and deletes cannot be matched"
      )
      expect(about(report, "public.inc").every((f) => f.side === "destination" && f.sid === "a")).toBe(true)
      const nokey = about(report, "public.nokey")
      expect(nokey).toMatchObject([{ severity: "warning" }])
      expect(nokey[0]?.message).toContain("no primary key or unique key on the destination covers the source key (id)")
      const tenant = about(report, "public.tenant")
      expect(tenant).toMatchObject([{ severity: "warning" }])
      expect(tenant[0]?.message).toContain("(id) + sid")
    })
  )

  it.live("reports a role without REPLICATION and without rights to publish", () =>
    Effect.gen(function* () {
      const role = `r_${randomBytes(3).toString("hex")}`
      yield* Effect.promise(() => server.query(`create role ${role} login password 'pw'`))
      const report = yield* check(["accounts"], withUser(source, role, "pw"))
      const messages = of(report, "error").map((f) => f.message)
      expect(
        messages.some((m) => m.includes(`role "${role}" has neither REPLICATION nor SUPERUSER`)),
        formatReport(report)
      ).toBe(true)
      expect(messages.some((m) => m.includes("lacks CREATE on database"))).toBe(true)
      expect(messages.some((m) => m.includes("does not own the table"))).toBe(true)
      expect(of(report, "error")[0]?.url).toContain(`${role}:***@`)
      expect(formatReport(report)).not.toContain(":pw@")
    })
  )

  it.live("explains unreachable servers and missing databases without printing the password", () =>
    Effect.gen(function* () {
      const port = yield* Effect.promise(() => freePort())
      const dead = `postgres://postgres:s3cr3t-pw@127.0.0.1:${port}/src`
      const report = yield* check(["accounts"], dead, `postgres://postgres:s3cr3t-pw@127.0.0.1:${port}/dst`)
      const [src, dst] = of(report, "error")
      expect(src).toMatchObject({ side: "source", url: `postgres://postgres:***@127.0.0.1:${port}/src` })
      expect(src?.message).toContain(`connection refused by 127.0.0.1:${port}`)
      expect(dst).toMatchObject({ side: "destination", url: `postgres://postgres:***@127.0.0.1:${port}/dst` })
      expect(JSON.stringify(report)).not.toContain("s3cr3t")
      expect(formatReport(report)).not.toContain("s3cr3t")
      const missing = yield* check(["accounts"], server.url("nosuchdb"))
      expect(of(missing, "error").map((f) => f.message)).toEqual([
        `database "nosuchdb" does not exist on 127.0.0.1:${server.port}`
      ])
    })
  )
})
