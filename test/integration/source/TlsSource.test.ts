/**
 * Source and destination reached over TLS, with the `sslmode=require` that kuvasz-streamer's map.yaml and
 * most users' URLs carry (the destination with none: libpq's default, prefer), against self-signed
 * certificates: walferry reads sslmode as libpq does (SslMode),
 * and the source's connection string in libpq's keyword/value form (ConnectionUrl).
 * The replication stream's CopyData frames are read off the TLS socket (CopyDataTap), where TLS records cut
 * rows at other places than TCP reads do; existing rows (the initial copy), bulk inserts (the COPY path),
 * updates, deletes and a row larger than many records all arrive, and every walferry session is TLS.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { describeConnectError } from "../../../src/cli/CheckConnect.js"
import { openClient } from "../../../src/lib/openClient.js"
import { resolvePrefer } from "../../../src/lib/SslMode.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { enableTls, withUrlParam } from "../../support/Tls.js"
import { latestVersion } from "../../support/versions.js"
import { pipelineConfig, startEngine, waitFor, type RunningEngine } from "../../support/engine.js"
import { tableDigest } from "../../support/WalferryProcess.js"

/** whether a session opened with `url` is encrypted, else how `walferry check` describes the connect error */
const sessionTls = async (url: string): Promise<boolean | string> => {
  const client = await openClient({ connectionString: url }).catch((e: unknown) => describeConnectError(e, url))
  if (typeof client === "string") return client
  try {
    return (await client.query("select ssl from pg_stat_ssl where pid = pg_backend_pid()")).rows[0].ssl as boolean
  } finally {
    await client.end()
  }
}

describe("source over TLS", () => {
  let source: TestPg
  let dest: TestPg
  let engine: RunningEngine
  let certificate: string

  beforeAll(async () => {
    ;[source, dest] = await Promise.all([
      startTestPg({ version: latestVersion(), settings: {} }), // settings: always embedded (its data dir is needed)
      startTestPg({ version: latestVersion(), settings: {} })
    ])
    ;[certificate] = await Promise.all([enableTls(source), enableTls(dest)])
    await source.createDatabase("app")
    await source.query("create table items (id int primary key, note text, at timestamptz)", [], "app")
    await source.query("insert into items select -g, md5(g::text), now() from generate_series(1, 5000) g", [], "app")
    await dest.createDatabase("dwh")
    await dest.query("create table items (id int primary key, note text, at timestamptz)", [], "dwh")
    const u = new URL(source.url("app")) // the source in libpq's keyword/value form, as pgx users write it
    const url = `host=${u.hostname} port=${u.port} dbname=app user=${u.username} password='${decodeURIComponent(u.password)}' sslmode=require`
    engine = startEngine(
      pipelineConfig({
        destination: dest.url("dwh"), // no sslmode: libpq's default (prefer) encrypts, as with kuvasz
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
    const writers = await dest.query(
      `select s.ssl from pg_stat_activity a join pg_stat_ssl s on s.pid = a.pid where a.application_name = 'walferry'`,
      [],
      "dwh"
    )
    expect(writers.length).toBeGreaterThan(0)
    expect(writers.every((r) => r.ssl === true)).toBe(true)
    expect(engine.failed()).toBe(false)
  }, 120_000)

  it("connects with each sslmode as libpq does, and still verifies where asked", async () => {
    const url = source.url("app")
    const plain = await startTestPg({ version: latestVersion() }) // ssl = off
    try {
      // no sslmode: libpq's default, prefer
      expect(await sessionTls(plain.url())).toBe(false)
      expect(await resolvePrefer(plain.url())).toBe(withUrlParam(plain.url(), "sslmode=disable"))
      expect(await sessionTls(withUrlParam(plain.url(), "sslmode=prefer"))).toBe(false)
      expect(await sessionTls(withUrlParam(plain.url(), "sslmode=allow"))).toBe(false)
      expect(await sessionTls(withUrlParam(plain.url(), "sslmode=require"))).toMatch(/does not offer TLS/)
    } finally {
      await plain.stop()
    }
    expect(await sessionTls(url)).toBe(true) // no sslmode: libpq's default, prefer
    // settled once: a resolved URL says what prefer meant, so it is not asked again
    expect(await resolvePrefer(url)).toBe(withUrlParam(url, "sslmode=require"))
    expect(await sessionTls(withUrlParam(url, "sslmode=require"))).toBe(true)
    expect(await sessionTls(withUrlParam(url, "sslmode=prefer"))).toBe(true)
    expect(await sessionTls(withUrlParam(url, "sslmode=allow"))).toBe(false)
    expect(await sessionTls(withUrlParam(url, "sslmode=disable"))).toBe(false)
    expect(await sessionTls(withUrlParam(url, `sslmode=verify-ca&sslrootcert=${certificate}`))).toBe(true)
    expect(await sessionTls(withUrlParam(url, "sslmode=verify-full"))).toMatch(
      /certificate fails verification \(self-signed certificate\): give its CA with sslrootcert/
    )
    const before = process.env.PGSSLMODE
    try {
      process.env.PGSSLMODE = "disable"
      expect(await sessionTls(url)).toBe(false)
    } finally {
      if (before === undefined) delete process.env.PGSSLMODE
      else process.env.PGSSLMODE = before
    }
    // libpq 16's system roots: verified against Node's CAs, which do not hold this self-signed one
    expect(await sessionTls(withUrlParam(url, "sslrootcert=system"))).toMatch(/certificate fails verification/)
    expect(await sessionTls(withUrlParam(url, "sslmode=require&uselibpqcompat=false"))).toMatch(
      /self-signed certificate/
    )
  }, 60_000)
})
