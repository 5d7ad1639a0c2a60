/**
 * Wildcard table keys through the real walferry process, one source per Postgres version under test (each its
 * own group; table names carry the version, since a wildcard maps every table to its own name): expansion at
 * start (a table outside the pattern is left alone), a named entry overriding the wildcard's options, DROP
 * TABLE with rows right before it and in its own transaction (target kept, state dropped, also after a
 * restart), and with `ddl: capture` a CREATE TABLE with rows in the same transaction and after it. A second
 * process without capture finds a table created with rows through `wildcard_recheck_ms` and copies it online.
 */
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { stringify } from "yaml"
import { runCheck } from "../../../src/cli/Check.js"
import { loadConfig } from "../../../src/config/ConfigLoader.js"
import { expandConfig } from "../../../src/mapping/Wildcards.js"
import { runVerify } from "../../../src/verify/Verify.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { latestVersion, testVersions } from "../../support/versions.js"
import { waitFor } from "../../support/engine.js"
import { startWalferry, stopAllWalferry, waitStreaming, type WalferryProcess } from "../../support/WalferryProcess.js"

const sourceDdl = (v: number) => `
  create schema sales;
  create table sales.t${v}_a (id int primary key, v text);
  create table sales.t${v}_b (id int primary key, v text);
  create table sales.t${v}_c (id int primary key, v text);
  create table sales.t${v}_d (id int primary key, v text);
  create table public.t${v}_other (id int primary key);
  insert into sales.t${v}_a select g, 'a' || g from generate_series(1, 50) g;
  insert into public.t${v}_other values (1)`

interface TableJson {
  readonly target: string
  readonly state: string
  readonly wildcard?: string
}

describe("wildcard table keys", () => {
  const sources = new Map<number, TestPg>()
  let dest: TestPg
  let proc: WalferryProcess
  const versions = testVersions()

  const onSource = (v: number, sql: string, db = "app") => sources.get(v)!.query(sql, [], db)
  const destRows = (sql: string, db = "dest") => dest.query(sql, [], db)
  const count = async (table: string, db = "dest") => {
    const rows = await destRows(`select count(*)::int n from ${table}`, db)
    return rows[0].n as number
  }
  const exists = async (table: string, db = "dest") =>
    (await destRows(`select to_regclass('public.${table}') is not null as e`, db))[0].e as boolean
  const settle = (what: string, check: () => Promise<boolean>) =>
    waitFor(what, check, 60_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${proc.output()}`)
    })
  const tables = async () => (await proc.status()).tables as ReadonlyArray<TableJson>
  const tableOf = async (target: string) => (await tables()).find((t) => t.target === target)

  beforeAll(async () => {
    const started = await Promise.all([...versions, latestVersion()].map((version) => startTestPg({ version })))
    dest = started.pop()!
    versions.forEach((v, i) => sources.set(v, started[i]!))
    await dest.createDatabase("dest")
    await dest.createDatabase("dest2")
    for (const [v, s] of sources) {
      await s.createDatabase("app")
      await s.createDatabase("rc")
      await s.query(sourceDdl(v), [], "app")
      await s.query(`create schema sales; create table sales.r${v}_old (id int primary key)`, [], "rc")
    }
    await startCapture()
  })

  const startCapture = async () => {
    proc = await startWalferry({
      destination: dest.url("dest"),
      autoCreate: true,
      map: versions.map((v) => ({
        database: `v${v}`,
        ddl: "capture",
        urls: [{ url: sources.get(v)!.url("app"), sid: "" }],
        tables: { "sales.*": null, [`sales.t${v}_b`]: { type: "append" } }
      })),
      tuning: { commit_interval_ms: 10 }
    })
    await waitStreaming(proc)
  }

  afterAll(async () => {
    await stopAllWalferry()
    await Promise.all([...[...sources.values()].map((s) => s.stop()), dest?.stop()])
  })

  it("expands at start: matching tables are created and copied, others left alone, shown in /status", async () => {
    for (const v of versions) {
      await settle(`t${v}_a copied`, async () => (await count(`t${v}_a`)) === 50)
      expect(await exists(`t${v}_other`)).toBe(false)
      expect(await tableOf(`t${v}_a`)).toMatchObject({ state: "streaming", wildcard: "sales.*" })
      expect((await tableOf(`t${v}_b`))?.wildcard).toBeUndefined()
    }
    expect((await tables()).some((t) => t.target.endsWith("_other"))).toBe(false)
  })

  it("check and verify expand the keys the same way", async () => {
    const dir = mkdtempSync(join(tmpdir(), "walferry-wildcard-"))
    try {
      const file = join(dir, "walferry.yaml")
      const map = versions.map((v) => ({
        database: `v${v}`,
        urls: [{ url: sources.get(v)!.url("app"), sid: "" }],
        tables: { "sales.*": null, [`sales.t${v}_b`]: { type: "append" }, "nothing_*": null }
      }))
      writeFileSync(file, stringify({ destination: { url: dest.url("dest") }, map }))
      const { config } = await Effect.runPromise(loadConfig({ file, env: {} }))
      const report = await Effect.runPromise(runCheck(config))
      for (const v of versions) {
        expect(report.findings).toContainEqual(
          expect.objectContaining({
            severity: "info",
            database: `v${v}`,
            message: `wildcard key "sales.*" matches 3 table(s): sales.t${v}_a, sales.t${v}_c, sales.t${v}_d`
          })
        )
        expect(report.findings).toContainEqual(
          expect.objectContaining({
            severity: "warning",
            database: `v${v}`,
            message: `wildcard key "nothing_*" matches no table (yet)`
          })
        )
      }
      const expanded = await Effect.runPromise(expandConfig(config))
      const verify = await Effect.runPromise(runVerify(expanded.config))
      expect(verify.tables.map((t) => t.target).sort()).toEqual(
        versions.flatMap((v) => [`t${v}_a`, `t${v}_b`, `t${v}_c`, `t${v}_d`]).sort()
      )
      expect(verify.verdict).toBe("equal")
    } finally {
      rmSync(dir, { recursive: true, force: true })
    }
  })

  it("a named entry overrides the wildcard's options (append keeps deleted rows)", async () => {
    for (const v of versions) {
      await onSource(v, `insert into sales.t${v}_b values (1, 'x'), (2, 'y'); delete from sales.t${v}_a where id = 1`)
      await onSource(v, `delete from sales.t${v}_b where id = 1`)
      await onSource(v, `insert into sales.t${v}_b values (3, 'z')`)
    }
    for (const v of versions) {
      await settle(`t${v}_b rows`, async () => (await count(`t${v}_b`)) === 3)
      await settle(`t${v}_a delete`, async () => (await count(`t${v}_a`)) === 49)
    }
  })

  it("DROP TABLE: rows right before it arrive, the target is kept and shown dropped", async () => {
    for (const v of versions) {
      await onSource(v, `insert into sales.t${v}_a values (101, 'before')`)
      await onSource(v, `begin; insert into sales.t${v}_a values (102, 'same tx'); drop table sales.t${v}_a; commit`)
    }
    // all sources at once, each dropping a table with rows right before the DROP and creating one in the same
    // transaction (the run restarts while the DROP's rows may still be in flight)
    await Promise.all(
      versions.map(async (v) => {
        await onSource(v, `insert into sales.t${v}_c values (1, 'before')`)
        await onSource(
          v,
          `begin; insert into sales.t${v}_c values (2, 'same tx'); drop table sales.t${v}_c;
           create table sales.m${v} (id int primary key); insert into sales.m${v} values (1); commit`
        )
      })
    )
    for (const v of versions) {
      await settle(`t${v}_c dropped`, async () => (await tableOf(`t${v}_c`))?.state === "dropped")
      await settle(`m${v} copied`, async () => (await exists(`m${v}`)) && (await count(`m${v}`)) === 1)
      expect(await destRows(`select id, v from t${v}_c order by id`)).toEqual([
        { id: 1, v: "before" },
        { id: 2, v: "same tx" }
      ])
    }
    // walferry down while rows are written and the table dropped: the next process replays them
    for (const v of versions) await onSource(v, `insert into sales.t${v}_d values (1, 'copied')`)
    for (const v of versions) await settle(`t${v}_d row 1`, async () => (await count(`t${v}_d`)) === 1)
    proc.kill("SIGTERM")
    await proc.waitExit(60_000)
    await proc.stop()
    for (const v of versions) {
      await onSource(v, `insert into sales.t${v}_d values (2, 'while down')`)
      await onSource(
        v,
        `begin; insert into sales.t${v}_d values (3, 'with the drop'); drop table sales.t${v}_d; commit`
      )
    }
    await startCapture()
    for (const v of versions) {
      await settle(`t${v}_d replayed`, async () => (await count(`t${v}_d`)) === 3)
      await settle(`t${v}_d dropped`, async () => (await tableOf(`t${v}_d`))?.state === "dropped")
      expect((await tableOf(`t${v}_c`))?.state).toBe("dropped")
    }
    for (const v of versions) {
      await settle(`t${v}_a dropped`, async () => (await tableOf(`t${v}_a`))?.state === "dropped")
      expect(await destRows(`select id, v from t${v}_a where id > 100 order by id`)).toEqual([
        { id: 101, v: "before" },
        { id: 102, v: "same tx" }
      ])
      expect(await count(`t${v}_a`)).toBe(51)
    }
  })

  it("ddl capture: a new table is mapped, with rows of its own transaction and later ones", async () => {
    for (const v of versions) {
      await onSource(
        v,
        `begin;
         create table sales.n${v} (id int primary key, v text);
         insert into sales.n${v} values (1, 'same tx'), (2, 'same tx');
         commit;
         insert into sales.n${v} values (3, 'right after');
         insert into sales.t${v}_b values (4, 'meanwhile')`
      )
    }
    for (const v of versions) {
      await settle(`n${v} created`, async () => (await tableOf(`n${v}`))?.state === "streaming")
      await onSource(
        v,
        `insert into sales.n${v} values (4, 'later'); update sales.n${v} set v = 'updated' where id = 1`
      )
    }
    for (const v of versions) {
      await settle(`n${v} rows`, async () => (await count(`n${v}`)) === 4)
      await settle(`n${v} update`, async () => (await count(`n${v} where v = 'updated'`)) === 1)
      expect(await destRows(`select id, v from n${v} order by id`)).toEqual([
        { id: 1, v: "updated" },
        { id: 2, v: "same tx" },
        { id: 3, v: "right after" },
        { id: 4, v: "later" }
      ])
      expect(await count(`t${v}_b`)).toBe(4)
      // the dropped table stays dropped across the restart the new table caused
      expect((await tableOf(`t${v}_a`))?.state).toBe("dropped")
      expect(await count(`t${v}_a`)).toBe(51)
    }
    expect(proc.output()).toMatch(/new table sales\.n\d+ matches a wildcard key/)
  })

  it("without capture, wildcard_recheck_ms finds a table created with rows and copies it online", async () => {
    await proc.stop()
    proc = await startWalferry({
      destination: dest.url("dest2"),
      autoCreate: true,
      map: versions.map((v) => ({
        database: `r${v}`,
        urls: [{ url: sources.get(v)!.url("rc"), sid: "" }],
        tables: { "sales.r*": null }
      })),
      tuning: { commit_interval_ms: 10 },
      extra: { wildcard_recheck_ms: 500 }
    })
    await waitStreaming(proc)
    for (const v of versions) {
      await onSource(
        v,
        `create table sales.r${v}_new (id int primary key, v int);
         insert into sales.r${v}_new select g, g from generate_series(1, 1000) g;
         insert into sales.r${v}_old values (1)`,
        "rc"
      )
    }
    for (const v of versions) {
      await settle(
        `r${v}_new copied`,
        async () => (await exists(`r${v}_new`, "dest2")) && (await count(`r${v}_new`, "dest2")) === 1000
      )
      await onSource(
        v,
        `insert into sales.r${v}_new values (1001, 1001); delete from sales.r${v}_new where id = 1`,
        "rc"
      )
    }
    for (const v of versions) {
      await settle(`r${v}_new streamed`, async () => (await count(`r${v}_new where id in (1, 1001)`, "dest2")) === 1)
      expect(await count(`r${v}_new`, "dest2")).toBe(1000)
      expect(await count(`r${v}_old`, "dest2")).toBe(1)
    }
  })
})
