/**
 * A source reached over TLS: the replication stream's CopyData frames are read off the TLS socket
 * (CopyDataTap), where TLS records cut rows at other places than TCP reads do; bulk inserts (the COPY path),
 * updates, deletes and a row larger than many records all arrive, and the walsender's connection is TLS.
 */
import { execFileSync } from "node:child_process"
import { chmodSync, chownSync, statSync } from "node:fs"
import { join } from "node:path"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import { pipelineConfig, startEngine, waitFor, type RunningEngine } from "../../support/engine.js"
import { tableDigest } from "../../support/WalferryProcess.js"

/** a self-signed certificate in the data directory, owned by the server's user, and ssl = on */
const enableTls = async (server: TestPg) => {
  const crt = join(server.dataDir, "server.crt")
  const key = join(server.dataDir, "server.key")
  execFileSync(
    "openssl",
    ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2"].concat([
      "-subj",
      "/CN=127.0.0.1",
      "-keyout",
      key,
      "-out",
      crt
    ]),
    { stdio: "pipe" }
  )
  const owner = statSync(server.dataDir)
  for (const f of [crt, key]) chownSync(f, owner.uid, owner.gid)
  chmodSync(key, 0o600)
  await server.query("alter system set ssl = on")
  await server.query("select pg_reload_conf()")
  await waitFor("ssl on", async () => (await server.query("show ssl"))[0].ssl === "on")
}

describe("source over TLS", () => {
  let source: TestPg
  let dest: TestPg
  let engine: RunningEngine

  beforeAll(async () => {
    ;[source, dest] = await Promise.all([
      startTestPg({ version: latestVersion(), settings: {} }), // settings: always embedded (its data dir is needed)
      startTestPg({ version: latestVersion() })
    ])
    await enableTls(source)
    await source.createDatabase("app")
    await source.query("create table items (id int primary key, note text, at timestamptz)", [], "app")
    await dest.createDatabase("dwh")
    await dest.query("create table items (id int primary key, note text, at timestamptz)", [], "dwh")
    const url = `${source.url("app")}${source.url("app").includes("?") ? "&" : "?"}sslmode=no-verify`
    engine = startEngine(
      pipelineConfig({
        destination: dest.url("dwh"),
        sources: [{ database: "app", urls: [{ url, sid: "" }], tables: ["items"] }]
      })
    )
    await waitFor("slot active", async () => {
      const rows = await source.query("select count(*)::int n from pg_replication_slots where active", [], "app")
      return rows[0].n >= 1
    })
  }, 120_000)

  afterAll(async () => {
    await engine?.stop()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("streams inserts, updates, deletes and a large row through a TLS walsender", async () => {
    for (let t = 0; t < 20; t++) {
      await source.query(
        `insert into items select g, md5(g::text) || E'\\t' || g, now() from generate_series($1::int, $2::int) g`,
        [t * 1000 + 1, t * 1000 + 1000],
        "app"
      )
    }
    await source.query("insert into items values (0, repeat('ü', 200000), now())", [], "app")
    await source.query("update items set note = note || ' changed' where id % 37 = 0", [], "app")
    await source.query("delete from items where id % 53 = 0", [], "app")
    const want = await tableDigest(source, "app", "items", "id")
    await waitFor("destination equal", async () => (await tableDigest(dest, "dwh", "items", "id")) === want, 60_000)
    const tls = await source.query(
      `select s.ssl from pg_stat_replication r join pg_stat_ssl s on s.pid = r.pid`,
      [],
      "app"
    )
    expect(tls.length).toBeGreaterThan(0)
    expect(tls.every((r) => r.ssl === true)).toBe(true)
    expect(engine.failed()).toBe(false)
  }, 120_000)
})
