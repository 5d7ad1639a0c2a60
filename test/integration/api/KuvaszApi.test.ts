/**
 * kuvasz's read API on a YAML mapping, against real servers and a running walferry: `/api/map` lists every
 * source table with kuvasz's fields (replicated, present, both sides' columns); every mapping change is 401
 * without the token and 405 with it (declarative mode); CORS answers preflights for the allowed origin only; the
 * OpenAPI document generated from the definition lists the endpoints.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { tableMapping } from "../../support/configFixture.js"
import { waitFor } from "../../support/engine.js"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import { Redacted } from "effect"
import { startService, type Service } from "./apiService.js"

const ORIGIN = "https://console.example"

describe("kuvasz's API on a YAML mapping", () => {
  let source: TestPg
  let dest: TestPg
  let api: Service

  beforeAll(async () => {
    ;[source, dest] = await startTestPgs(2, { version: latestVersion() })
    await Promise.all([source.createDatabase("shop"), dest.createDatabase("dwh")])
    await source.query("create table a (id int primary key, v text)", [], "shop")
    await source.query("create table b (id int primary key, n numeric(10,2))", [], "shop")
    await source.query("insert into a select g, 'a' || g from generate_series(1, 100) g", [], "shop")
    api = await startService({
      destination: dest.url("dwh"),
      sources: [
        {
          database: "shop",
          urls: [{ url: Redacted.make(source.url("shop")), sid: "" }],
          tables: [{ ...tableMapping("a"), autoCreate: true }]
        }
      ],
      database: false,
      corsOrigins: [ORIGIN]
    })
    await waitFor(
      "a copied",
      async () => {
        const rows = await dest.query("select count(*)::int as n from a", [], "dwh").catch(() => [{ n: 0 }])
        return rows[0]!.n === 100
      },
      60_000
    )
  }, 120_000)

  afterAll(async () => {
    await api?.stop()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("lists every source table with kuvasz's fields", async () => {
    await waitFor("map built", async () => (await api.get("/api/map")).status === 200)
    const entries = (await api.get("/api/map")).body as Array<any>
    expect(entries.map((e) => e.name)).toEqual(["a", "b"])
    const [a, b] = entries
    expect(a).toMatchObject({ id: 1, db_id: 1, db_name: "shop", schema: "public", type: "clone", target: "a" })
    expect(a).toMatchObject({ replicated: true, partitions: [], partitions_regex: null })
    expect(a.source_columns).toEqual({
      id: { name: "id", column_type: "integer", data_type_oid: 23, primary_key: true },
      v: { name: "v", column_type: "text", data_type_oid: 25, primary_key: false }
    })
    expect(b).toMatchObject({ id: 2, name: "b", replicated: false, present: false, dest_columns: {} })
    expect(b.source_columns.n.column_type).toBe("numeric(10,2)")
  })

  it("shows an existing destination table as present, with its columns, once the map is rebuilt", async () => {
    // the map is a cache rebuilt when read more than a second after its build started: the first build ran
    // before walferry created the target
    await waitFor("a present", async () => ((await api.get("/api/map")).body as Array<any>)[0]?.present === true)
    const entries = (await api.get("/api/map")).body as Array<any>
    expect(entries[0]).toMatchObject({ name: "a", present: true })
    expect(Object.keys(entries[0].dest_columns)).toEqual(["id", "v"])
  })

  it("refuses every change: 401 without the token, 405 with it", async () => {
    const changes: ReadonlyArray<readonly [string, string, unknown?]> = [
      ["POST", "/api/map/2/create"],
      ["POST", "/api/map/2/clone"],
      ["POST", "/api/map/refresh"],
      ["POST", "/api/url/restart"],
      ["POST", "/api/db", { name: "x" }],
      ["PUT", "/api/tbl/1", { db_id: 1, name: "a" }],
      ["DELETE", "/api/url/1"]
    ]
    for (const [method, path, body] of changes) {
      const anonymous = await fetch(`${api.base}${path}`, { method })
      expect(anonymous.status, `${method} ${path}`).toBe(401)
      const r = await api.send(method, path, body)
      expect(r, `${method} ${path}`).toEqual({
        status: 405,
        body: { code: "not_allowed", error: "cannot modify configuration in declarative mode" }
      })
    }
    expect((await dest.query("select to_regclass('public.b') as t", [], "dwh"))[0]!.t).toBeNull()
  })

  it("answers CORS preflights for the allowed origin only", async () => {
    const preflight = (origin: string) =>
      fetch(`${api.base}/api/map`, {
        method: "OPTIONS",
        headers: { origin, "access-control-request-method": "GET", "access-control-request-headers": "authorization" }
      })
    const ok = await preflight(ORIGIN)
    expect(ok.status).toBe(204)
    expect(ok.headers.get("access-control-allow-origin")).toBe(ORIGIN)
    expect(ok.headers.get("access-control-allow-headers")).toContain("Authorization")
    expect(ok.headers.get("access-control-allow-methods")).toContain("DELETE")
    const other = await preflight("https://evil.example")
    expect(other.status).toBe(403)
    expect(await other.json()).toMatchObject({ code: "origin_not_allowed" })
    const read = await fetch(`${api.base}/api/tbl`, { headers: { origin: ORIGIN } })
    expect(read.headers.get("access-control-allow-origin")).toBe(ORIGIN)
    const foreign = await fetch(`${api.base}/api/tbl`, { headers: { origin: "https://evil.example" } })
    expect(foreign.headers.get("access-control-allow-origin")).toBeNull()
  })

  it("serves the OpenAPI document generated from the definition", async () => {
    const doc = (await api.get("/openapi.json")).body
    expect(doc.openapi).toBe("3.1.0")
    for (const path of [
      "/api/map",
      "/api/map/{id}/clone",
      "/api/map/{id}/create",
      "/api/tbl/{id}",
      "/api/url/restart"
    ]) {
      expect(doc.paths, path).toHaveProperty([path])
    }
    expect(doc.paths["/api/map/{id}/clone"].post.security).toEqual([{ bearer: [] }])
    expect(doc.paths["/api/map"].get.security ?? []).toEqual([])
    expect(Object.keys(doc.paths["/api/tbl/{id}"])).toEqual(expect.arrayContaining(["get", "put", "delete"]))
  })
})
