/**
 * Operating a real walferry process: /metrics after a real workload has kuvasz-streamer's series with the
 * right labels and values that moved; mutations without the token are refused; drain-stop applies
 * everything received, confirms it and exits 0.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import * as Lsn from "../../../src/domain/Lsn.js"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import { waitFor } from "../../support/engine.js"
import { startWalferry, stopAllWalferry, type WalferryProcess } from "../../support/WalferryProcess.js"

const series = (text: string, name: string, labels: Record<string, string>): number | undefined => {
  for (const line of text.split("\n")) {
    if (!line.startsWith(`${name}{`)) continue
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) return Number(line.split(" ").pop())
  }
  return undefined
}

describe("operating the walferry process (metrics, auth, drain-stop)", () => {
  let source: TestPg
  let dest: TestPg
  let proc: WalferryProcess

  beforeAll(async () => {
    ;[source, dest] = await startTestPgs(2, { version: latestVersion() })
    await source.createDatabase("shop")
    await source.query("create table items (id int primary key, name text)", [], "shop")
    await source.query("insert into items select g, 'seed' from generate_series(1, 100) g", [], "shop")
    await dest.createDatabase("dwh")
    await dest.query("create table items (sid text, id int, name text, primary key (sid, id))", [], "dwh")
    proc = await startWalferry({
      destination: dest.url("dwh"),
      map: [{ database: "shop", urls: [{ url: source.url("shop"), sid: "s1" }], tables: { items: null } }]
    })
    await waitFor("streaming", async () => (await proc.status()).sources.every((s) => s.state === "streaming"))
  })

  afterAll(async () => {
    await stopAllWalferry()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("metrics carry kuvasz-streamer's names and labels, with values that moved", async () => {
    await source.query("insert into items select g, 'new' from generate_series(101, 150) g", [], "shop")
    await source.query("update items set name = 'upd' where id <= 10; delete from items where id > 140", [], "shop")
    await waitFor(
      "applied",
      async () => (await dest.query("select count(*)::int n from items", [], "dwh"))[0].n === 140
    )
    const text = await proc.metrics()
    const labels = { database: "shop", sid: "s1", table: "items", result: "success" }
    expect(series(text, "streamer_operations_total", { ...labels, operation: "insert" })).toBe(50)
    expect(series(text, "streamer_operations_total", { ...labels, operation: "update" })).toBe(10)
    expect(series(text, "streamer_operations_total", { ...labels, operation: "delete" })).toBe(10)
    expect(series(text, "streamer_sync_rows_total", { database: "shop", sid: "s1" })).toBe(100)
    expect(series(text, "url_heartbeat", { database: "shop", sid: "s1" })).toBeGreaterThan(Date.now() / 1000 - 60)
    expect(series(text, "walferry_confirmed_lsn", { database: "shop", sid: "s1" })).toBeGreaterThan(0)
    expect(text).toMatch(/^walferry_batch_rows_count\{table="items"\} [1-9]/m)
    expect(text).toMatch(/^walferry_lag_seconds_count\{database="shop",sid="s1"\} [1-9]/m)
  })

  it("refuses mutations without the token", async () => {
    const res = await fetch(`http://127.0.0.1:${proc.port}/pause`, { method: "POST" })
    expect(res.status).toBe(401)
    expect((await proc.status()).paused).toBe(false)
  })

  it("drain-stop applies everything received, confirms it and exits 0", async () => {
    await source.query("insert into items select g, 'last' from generate_series(1000, 1999) g", [], "shop")
    const [{ lsn }] = await source.query("select pg_current_wal_lsn()::text lsn", [], "shop")
    await waitFor("received", async () => {
      const st = (await proc.status()) as unknown as { sources: Array<{ receivedLsn: string }> }
      return st.sources.every((x) => Lsn.parse(x.receivedLsn) >= Lsn.parse(lsn))
    })
    expect(await proc.post("/drain-stop")).toBe(200)
    const exit = await proc.waitExit(30_000)
    expect(exit.code).toBe(0)
    const [{ n }] = await dest.query("select count(*)::int n from items where name = 'last'", [], "dwh")
    expect(n).toBe(1000)
    const [slot] = await source.query(
      "select active, confirmed_flush_lsn >= $1::pg_lsn as confirmed from pg_replication_slots",
      [lsn],
      "shop"
    )
    expect(slot).toEqual({ active: false, confirmed: true })
  })
})
