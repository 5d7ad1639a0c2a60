/**
 * map_mode: database through kuvasz's API against real servers and a running walferry: the mapping is built
 * with /api/db, /api/url and /api/tbl (stored in the destination's walferry schema) and each change takes effect
 * without a restart — an added table is copied and then streams; `/api/map/{id}/clone` starts another one while
 * the first streams; a deleted table leaves the publication and its changes stop arriving; `/api/url/restart`
 * and `/api/map/refresh` answer and streaming goes on; `/api/map/{id}/create` creates a destination table.
 * URLs are answered masked; every mutation needs the token; input is validated.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { waitFor } from "../../support/engine.js"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import { startService, type Service } from "./apiService.js"

const PASSWORD = "pw-not-to-be-echoed"

describe("interactive mapping (map_mode: database) through the API", () => {
  let source: TestPg
  let dest: TestPg
  let api: Service
  const answers: Array<string> = []

  const count = async (server: TestPg, db: string, table: string) =>
    Number((await server.query(`select count(*)::int as n from ${table}`, [], db))[0]!.n)
  const send = async (method: string, path: string, body?: unknown) => {
    const r = await api.send(method, path, body)
    answers.push(JSON.stringify(r.body))
    return r
  }
  const entry = async (name: string) => {
    const r = await api.get("/api/map")
    expect(r.status).toBe(200)
    const e = (r.body as Array<{ name: string }>).find((x) => x.name === name)
    if (e === undefined) throw new Error(`no map entry ${name}`)
    return e as any
  }
  const published = async () =>
    (
      await source.query(
        "select tablename from pg_publication_tables where schemaname = 'public' order by 1",
        [],
        "shop"
      )
    ).map((r: { tablename: string }) => r.tablename)

  beforeAll(async () => {
    ;[source, dest] = await startTestPgs(2, { version: latestVersion() })
    await Promise.all([source.createDatabase("shop"), dest.createDatabase("dwh")])
    for (const t of ["a", "b", "c"]) await source.query(`create table ${t} (id int primary key, v text)`, [], "shop")
    await source.query("insert into a select g, 'a' || g from generate_series(1, 3000) g", [], "shop")
    await source.query("insert into b select g, 'b' || g from generate_series(1, 1000) g", [], "shop")
    api = await startService({ destination: dest.url("dwh"), sources: [], database: true })
  }, 120_000)

  afterAll(async () => {
    await api?.stop()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("answers not_ready until the map is built, then starts with an empty mapping; changes need the token", async () => {
    const first = await api.get("/api/map")
    if (first.status !== 200)
      expect(first).toEqual({ status: 400, body: { code: "not_ready", error: "server not ready: starting" } })
    await waitFor("map built", async () => (await api.get("/api/map")).status === 200)
    expect((await api.get("/api/map")).body).toEqual([])
    expect((await api.get("/api/db")).body).toEqual([])
    const anonymous = await fetch(`${api.base}/api/db`, { method: "POST", body: '{"name":"shop"}' })
    expect(anonymous.status).toBe(401)
    expect((await api.get("/api/db")).body).toEqual([])
  })

  it("adds a database, a URL and a table: the table is copied and then streams, without a restart", async () => {
    const db = await send("POST", "/api/db", { name: "shop" })
    expect(db).toEqual({ status: 200, body: { id: 1, name: "shop" } })
    expect((await send("POST", "/api/db", { name: "shop" })).status).toBe(409)
    expect((await send("POST", "/api/db", {})).body).toMatchObject({ code: "invalid_input", field: "name" })

    const url = source.url("shop").replace("postgres@", `postgres:${PASSWORD}@`)
    const u = await send("POST", "/api/url", { db_id: 1, url })
    expect(u.status).toBe(200)
    expect(u.body).toMatchObject({ id: 1, db_id: 1, db_name: "shop", sid: "" })
    expect(u.body.url).toContain("postgres:***@")

    const t = await send("POST", "/api/tbl", { db_id: 1, name: "a" })
    expect(t).toMatchObject({
      status: 200,
      body: { db_name: "shop", schema: "public", name: "a", type: "clone", target: "a" }
    })
    await waitFor("a copied", async () => (await count(dest, "dwh", "a")) === 3000, 60_000)
    await source.query("insert into a values (3001, 'streamed')", [], "shop")
    await waitFor("a streams", async () => (await count(dest, "dwh", "a")) === 3001, 30_000)
    await waitFor("url up", async () => (await api.get("/api/url")).body[0]?.up === true, 30_000)
  }, 120_000)

  it("lists source tables in /api/map, and clones a new one while the other streams", async () => {
    const a = await entry("a")
    expect(a).toMatchObject({ db_name: "shop", schema: "public", type: "clone", replicated: true, present: true })
    expect(a.source_columns.id).toMatchObject({ name: "id", column_type: "integer", primary_key: true })
    expect(a.dest_columns.v).toMatchObject({ name: "v", column_type: "text", primary_key: false })
    const b = await entry("b")
    expect(b).toMatchObject({ replicated: false, present: false, dest_columns: {} })
    expect((await api.get(`/api/map/${b.id}`)).body).toEqual(b)
    expect((await api.get("/api/map/999")).status).toBe(404)
    expect((await api.get("/api/map/x")).body).toMatchObject({ code: "invalid_input", field: "id" })

    expect((await send("POST", `/api/map/${b.id}/clone?type=sideways`)).status).toBe(400)
    const cloned = await send("POST", `/api/map/${b.id}/clone`)
    expect(cloned.status).toBe(200)
    expect(cloned.body).toMatchObject({ name: "b", replicated: true, present: true })
    await source.query("insert into a values (3002, 'during clone')", [], "shop")
    await waitFor("b copied", async () => (await count(dest, "dwh", "b")) >= 1000, 60_000)
    await source.query("insert into b values (1001, 'streamed')", [], "shop")
    await waitFor("b streams", async () => (await count(dest, "dwh", "b")) === 1001, 30_000)
    await waitFor("a still streams", async () => (await count(dest, "dwh", "a")) === 3002, 30_000)
    expect((await send("POST", `/api/map/${b.id}/clone`)).status).toBe(409)
    expect(await published()).toEqual(["a", "b"])
  }, 120_000)

  it("deletes a table: it leaves the publication and its changes stop arriving, the other streams on", async () => {
    const tbls = (await api.get("/api/tbl")).body as Array<{ id: number; name: string }>
    expect(tbls.map((t) => t.name)).toEqual(["a", "b"])
    const a = tbls.find((t) => t.name === "a")!
    expect((await fetch(`${api.base}/api/tbl/${a.id}`, { method: "DELETE" })).status).toBe(401)
    expect((await send("DELETE", `/api/tbl/${a.id}`)).status).toBe(200)
    expect((await send("DELETE", `/api/tbl/${a.id}`)).status).toBe(404)
    await waitFor("a unpublished", async () => (await published()).join() === "b", 30_000)
    await source.query("insert into a values (3003, 'not replicated')", [], "shop")
    await source.query("insert into b values (1002, 'after delete')", [], "shop")
    await waitFor("b streams", async () => (await count(dest, "dwh", "b")) === 1002, 30_000)
    expect(await count(dest, "dwh", "a")).toBe(3002)
    const stored = await dest.query("select name from walferry.map_tbl order by id", [], "dwh")
    expect(stored).toEqual([{ name: "b" }])
    expect((await send("DELETE", "/api/db/1")).status).toBe(409)
  }, 120_000)

  it("restarts replication, refreshes the map and creates a destination table", async () => {
    const restart = await send("POST", "/api/url/restart")
    expect(restart).toEqual({ status: 200, body: { ok: true, action: "restart" } })
    await source.query("insert into b values (1003, 'after restart')", [], "shop")
    await waitFor("b streams after restart", async () => (await count(dest, "dwh", "b")) === 1003, 60_000)

    await source.query("create table d (id bigint primary key, note varchar(20))", [], "shop")
    const refreshed = await send("POST", "/api/map/refresh")
    expect(refreshed.status).toBe(200)
    const d = (refreshed.body as Array<{ name: string; id: number }>).find((e) => e.name === "d")!
    expect(d).toMatchObject({ replicated: false, present: false })
    const created = await send("POST", `/api/map/${d.id}/create`)
    expect(created.body).toMatchObject({ name: "d", present: true, replicated: false })
    expect(created.body.dest_columns.note.column_type).toBe("character varying(20)")
    expect((await send("POST", `/api/map/${d.id}/create`)).body).toMatchObject({ code: "conflict" })
  }, 120_000)

  it("never answers a URL in clear", () => {
    expect(answers.length).toBeGreaterThan(10)
    for (const a of answers) expect(a).not.toContain(PASSWORD)
  })
})
