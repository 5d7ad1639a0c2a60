import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { Acknowledger } from "../../../src/ack/Acknowledger.js"
import { EngineStatus } from "../../../src/pipeline/EngineStatus.js"
import { recordBatch, setLag, setSlotWal, setSyncProgress } from "../../../src/telemetry/Metrics.js"
import { bodies, call, PASSWORD, startApi, writerStatus, type Harness } from "./apiHarness.js"

let api: Harness

const setSources = (state: "streaming" | "retrying", error?: string) =>
  Effect.gen(function* () {
    const status = yield* EngineStatus
    yield* status.set("billing/1", { database: "billing", sid: "1", state: "streaming", error: undefined })
    yield* status.set("billing/2", { database: "billing", sid: "2", state, error, restarts: error ? 2 : 0 })
  })

beforeAll(async () => {
  api = await startApi()
  await api.run(
    Effect.gen(function* () {
      const ack = yield* Acknowledger
      yield* ack.register("billing/1", 0x16b3748n)
      ack.received("billing/1", 0x100000000n + 0x20n)
    })
  )
})
afterAll(() => api.dispose())

/** the map is built once the (unreachable) sources were tried */
const waitUntilReady = async () => {
  for (let i = 0; i < 300; i++) {
    if ((await call(`${api.url}/api/map`)).status === 200) return
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error("the API stayed not_ready")
}

describe("HTTP API, read endpoints", () => {
  it("GET /healthz answers 200 ok", async () => {
    const r = await call(`${api.url}/healthz`)
    expect(r.status).toBe(200)
    expect(r.body).toEqual({ status: "ok" })
  })

  it("GET /readyz is 503 naming a failing source and a stopped table, with secrets masked", async () => {
    await api.run(setSources("retrying", `connect failed: postgres://repl:${PASSWORD}@src2.example/app`))
    api.writers = [writerStatus("accounts"), writerStatus("invoices_all", { state: "stopped", error: "column x" })]
    const r = await call(`${api.url}/readyz`)
    expect(r.status).toBe(503)
    expect(r.body.code).toBe("not_ready")
    expect(r.body.error).toContain("source billing/2")
    expect(r.body.error).toContain("table invoices_all: column x")
    expect(r.body.notReady.map((p: { name: string }) => p.name)).toEqual(["billing/2", "invoices_all"])
  })

  it("GET /readyz is 200 once every source streams and no table is stopped", async () => {
    await api.run(setSources("streaming"))
    api.writers = [writerStatus("accounts"), writerStatus("invoices_all")]
    const r = await call(`${api.url}/readyz`)
    expect(r.status).toBe(200)
    expect(r.body).toEqual({ status: "ready" })
  })

  it("GET /status shows sources with LSNs and readings, and tables with their state", async () => {
    await api.run(setSources("retrying", `password=${PASSWORD} refused`))
    setLag("billing", "1", 0.25)
    setSlotWal("billing", "1", 4096n, undefined)
    setSyncProgress("accounts", { chunksDone: 1, chunksTotal: 4, rows: 10_000 })
    api.writers = [
      writerStatus("accounts", { rowsApplied: 12, batches: 3, lastLsn: 0x16b3800n, mailboxDepth: 5 }),
      writerStatus("invoices_all", { state: "stopped", error: "permission denied" })
    ]
    const r = await call(`${api.url}/status`)
    expect(r.status).toBe(200)
    expect(r.body.version).toMatch(/^\d+\.\d+\.\d+/)
    expect(r.body.uptimeSeconds).toBeGreaterThanOrEqual(0)
    expect(r.body.paused).toBe(false)
    const [one, two] = r.body.sources
    expect(one).toMatchObject({ database: "billing", sid: "1", state: "streaming", error: null, restarts: 0 })
    expect(one).toMatchObject({ confirmedLsn: "0/16B3748", receivedLsn: "1/20", lagSeconds: 0.25 })
    expect(one.retainedWalBytes).toBe(4096)
    expect(new Date(one.since).getTime()).toBeGreaterThan(0)
    expect(two).toMatchObject({ sid: "2", state: "retrying", error: "password=*** refused", restarts: 2 })
    expect(two.confirmedLsn).toBeNull()
    expect(two).not.toHaveProperty("lagSeconds")
    expect(r.body.tables).toEqual([
      {
        target: "accounts",
        mode: "clone",
        state: "syncing",
        error: null,
        rowsApplied: 12,
        batches: 3,
        lastLsn: "0/16B3800",
        mailboxDepth: 5,
        syncProgress: { chunksDone: 1, chunksTotal: 4, rows: 10_000 }
      },
      {
        target: "invoices_all",
        mode: "append",
        state: "stopped",
        error: "permission denied",
        rowsApplied: 0,
        batches: 0,
        lastLsn: "0/0",
        mailboxDepth: 0
      }
    ])
  })

  it("GET /metrics exposes the registry with the batch just recorded and the scraped gauges", async () => {
    recordBatch("accounts", "billing", "1", { insert: 3, update: 2, delete: 0, truncate: 0 }, 0.02)
    const r = await call(`${api.url}/metrics`)
    expect(r.status).toBe(200)
    expect(r.contentType).toContain("text/plain")
    const ops = 'streamer_operations_total{database="billing",sid="1",table="accounts"'
    expect(r.text).toContain(`${ops},operation="insert",result="success"} 3`)
    expect(r.text).toContain(`${ops},operation="update",result="success"} 2`)
    expect(r.text).not.toContain(`${ops},operation="delete"`)
    expect(r.text).toContain(`walferry_confirmed_lsn{database="billing",sid="1"} ${0x16b3748}`)
    expect(r.text).toContain('walferry_table_stopped{table="invoices_all"} 1')
    expect(r.text).toContain('walferry_mailbox_depth{table="accounts"} 5')
    expect(r.text).toContain("process_cpu_user_seconds_total")
  })

  it("GET /api/db, /api/url, /api/tbl serve the YAML mapping with ids by position and masked URLs", async () => {
    await waitUntilReady()
    expect((await call(`${api.url}/api/db`)).body).toEqual([{ id: 1, name: "billing" }])
    const urls = (await call(`${api.url}/api/url`)).body
    // billing/1 streams (set by an earlier test), billing/2 retries with an error
    expect(urls[0]).toEqual({
      id: 1,
      db_id: 1,
      db_name: "billing",
      sid: "1",
      url: "postgres://repl:***@src1.example:5432/app?sslmode=require",
      up: true,
      error: null
    })
    expect(urls[1]).toMatchObject({ id: 2, sid: "2", url: "postgres://repl:***@src2.example/app" })
    const tbl = await call(`${api.url}/api/tbl/2`)
    expect(tbl.body).toEqual({
      id: 2,
      db_id: 1,
      db_name: "billing",
      schema: "public",
      name: "invoices",
      type: "append",
      target: "invoices_all",
      partitions_regex: null
    })
    expect((await call(`${api.url}/api/tbl/3`)).body).toEqual({ code: "not_found", error: "no tbl 3" })
    expect((await call(`${api.url}/api/tbl/x`)).body).toMatchObject({ code: "invalid_input", field: "id" })
  })

  it("GET /api/map lists nothing for groups whose source cannot be read", async () => {
    await waitUntilReady()
    const r = await call(`${api.url}/api/map`)
    expect(r).toMatchObject({ status: 200, body: [] })
  })

  it("GET /openapi.json is an OpenAPI 3.1 document listing every path", async () => {
    const r = await call(`${api.url}/openapi.json`)
    expect(r.status).toBe(200)
    expect(r.body.openapi).toBe("3.1.0")
    expect(Object.keys(r.body.paths)).toEqual(
      expect.arrayContaining([
        "/healthz",
        "/readyz",
        "/status",
        "/metrics",
        "/pause",
        "/resume",
        "/drain-stop",
        "/tables/{table}/resync",
        "/api/map",
        "/api/map/{id}",
        "/api/map/refresh",
        "/api/map/{id}/create",
        "/api/map/{id}/clone",
        "/api/db",
        "/api/db/{id}",
        "/api/url",
        "/api/url/{id}",
        "/api/url/restart",
        "/api/tbl",
        "/api/tbl/{id}",
        "/api/setup",
        "/api/setup/check",
        "/api/setup/start",
        "/openapi.json"
      ])
    )
  })

  it("answers unknown routes with a JSON 404", async () => {
    const r = await call(`${api.url}/nope?x=1`)
    expect(r.status).toBe(404)
    expect(r.body).toEqual({ code: "not_found", error: "no route for GET /nope" })
  })

  it("never sends a password", () => {
    expect(bodies.length).toBeGreaterThanOrEqual(8)
    for (const body of bodies) expect(body).not.toContain(PASSWORD)
  })
})
