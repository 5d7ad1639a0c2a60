/**
 * The setup wizard's API (`/api/setup`) against real servers and a running walferry with `map_mode: database`
 * and an empty mapping: the state says the wizard applies; the preflight answers `walferry check`'s findings and the
 * source's tables (estimates, keys), with invalid input named; the start stores the source and the picked tables,
 * which are copied and then stream; a second start is refused (409). A password typed apart is stored with the URL
 * and never answered. POSTs need the token.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { waitFor } from "../../support/engine.js"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import { startService, type Service } from "./apiService.js"

const PASSWORD = "wizard-secret-7319"

describe("setup wizard API (map_mode: database, empty mapping)", () => {
  let source: TestPg
  let dest: TestPg
  let api: Service
  const answers: Array<string> = []
  const sourceUrl = () => source.url("shop").replace("postgres://postgres@", "postgres://wizard@")

  const send = async (method: string, path: string, body?: unknown) => {
    const r = await api.send(method, path, body)
    answers.push(JSON.stringify(r.body))
    return r
  }
  const count = async (table: string) =>
    Number((await dest.query(`select count(*)::int as n from "${table}"`, [], "dwh"))[0]!.n)

  beforeAll(async () => {
    ;[source, dest] = await startTestPgs(2, { version: latestVersion() })
    await Promise.all([source.createDatabase("shop"), dest.createDatabase("dwh")])
    await source.query(`create role wizard login superuser replication password '${PASSWORD}'`)
    await source.query(
      `create table orders (id int primary key, v text);
       create table events (at timestamptz, what text);
       insert into orders select g, 'o' || g from generate_series(1, 2500) g;
       analyze`,
      [],
      "shop"
    )
    api = await startService({ destination: dest.url("dwh"), sources: [], database: true })
    await waitFor("map built", async () => (await api.get("/api/map")).status === 200)
  }, 120_000)

  afterAll(async () => {
    await api?.stop()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("says the wizard applies, and POSTs need the token", async () => {
    const state = await api.get("/api/setup")
    expect(state).toEqual({
      status: 200,
      body: { needed: true, mapMode: "database", destination: dest.url("dwh"), sources: 0, tables: 0 }
    })
    const anonymous = await fetch(`${api.base}/api/setup/check`, {
      method: "POST",
      body: JSON.stringify({ url: sourceUrl() })
    })
    expect(anonymous.status).toBe(401)
  })

  it("preflight: findings with their fix, the tables with estimates and keys; bad input named", async () => {
    const r = await send("POST", "/api/setup/check", {
      url: sourceUrl(),
      password: PASSWORD,
      tables: [{ name: "orders" }, { name: "events", mode: "append" }]
    })
    expect(r.status).toBe(200)
    expect(r.body).toMatchObject({ database: "shop", ready: true, problem: null })
    expect(r.body.url).toBe(sourceUrl().replace("wizard@", "wizard:***@"))
    const orders = r.body.tables.find((t: { name: string }) => t.name === "orders")
    expect(orders).toMatchObject({ schema: "public", hasPrimaryKey: true, estimatedRows: 2500 })
    expect(r.body.tables.find((t: { name: string }) => t.name === "events")).toMatchObject({ hasPrimaryKey: false })
    const events = r.body.findings.filter((f: { table: string | null }) => f.table?.includes("events"))
    expect(events.map((f: { message: string }) => f.message).join("\n")).toMatch(
      /no primary key: .*add a primary key or set REPLICA IDENTITY FULL/
    )
    const missing = r.body.findings.find((f: { side: string; table: string | null }) => f.side === "destination")
    expect(missing?.message ?? "").toMatch(/create|auto_create/i)

    const wrong = await send("POST", "/api/setup/check", { url: "mysql://x@y/z" })
    expect(wrong).toMatchObject({ status: 400, body: { code: "invalid_input", field: "url" } })
    const noDb = await send("POST", "/api/setup/check", { url: "postgres://wizard@127.0.0.1:1" })
    expect(noDb.body).toMatchObject({ code: "invalid_input", error: expect.stringMatching(/names no database/) })
    const down = await send("POST", "/api/setup/check", {
      url: "postgres://wizard@127.0.0.1:1/shop",
      password: PASSWORD
    })
    expect(down.status).toBe(200)
    expect(down.body.ready).toBe(false)
    expect(down.body.findings[0].message).toMatch(/cannot connect|refused/i)
  })

  it("start: the picked tables are copied and then stream; a second start is refused", async () => {
    const r = await send("POST", "/api/setup/start", {
      url: sourceUrl(),
      password: PASSWORD,
      sid: "s1",
      tables: [{ name: "orders", target: "orders_copy" }]
    })
    expect(r).toEqual({
      status: 200,
      body: { ok: true, database: "shop", url: sourceUrl().replace("wizard@", "wizard:***@"), tables: 1 }
    })
    const stored = await dest.query("select url from walferry.map_url", [], "dwh")
    expect(stored[0].url).toContain(`:${PASSWORD}@`)
    expect((await api.get("/api/setup")).body).toMatchObject({ needed: false, sources: 1, tables: 1 })
    await waitFor("the copy", async () => (await count("orders_copy").catch(() => 0)) === 2500, 60_000)
    await source.query("insert into orders select g, 'new' from generate_series(2501, 2510) g", [], "shop")
    await waitFor("rows inserted afterwards", async () => (await count("orders_copy")) === 2510)

    const again = await send("POST", "/api/setup/start", { url: sourceUrl(), tables: [{ name: "events" }] })
    expect(again).toMatchObject({ status: 409, body: { code: "conflict" } })
    const none = await send("POST", "/api/setup/start", { url: sourceUrl(), tables: [] })
    expect(none).toMatchObject({ status: 400, body: { field: "tables" } })
  })

  it("never answered the password", async () => {
    expect(answers.length).toBeGreaterThan(5)
    for (const a of answers) expect(a).not.toContain(PASSWORD)
    expect(JSON.stringify((await api.get("/api/url")).body)).not.toContain(PASSWORD)
  })
})
