import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Layer } from "effect"
import { createServer } from "node:net"
import { Acknowledger, makeAcknowledger } from "../../../src/ack/Acknowledger.js"
import { appConfigLayer } from "../../../src/config/AppConfig.js"
import { HttpApiLive } from "../../../src/http/Api.js"
import { EngineControl } from "../../../src/pipeline/EngineControl.js"
import { EngineStatusLive } from "../../../src/pipeline/EngineStatus.js"
import { LiveMappingLive } from "../../../src/pipeline/LiveMapping.js"
import { Writers } from "../../../src/writers/Writers.js"
import { SeriesLive } from "../../../src/telemetry/Series.js"
import {
  bearer,
  bodies,
  call,
  makeTestControl,
  PASSWORD,
  startApi,
  testConfig,
  TOKEN,
  type Harness
} from "./apiHarness.js"

let api: Harness
beforeAll(async () => {
  api = await startApi()
})
afterAll(() => api.dispose())

const MUTATIONS: ReadonlyArray<readonly [string, string]> = [
  ["POST", "/pause"],
  ["POST", "/resume"],
  ["POST", "/drain-stop"],
  ["POST", "/tables/accounts/resync"],
  ["POST", "/api/map"],
  ["PUT", "/api/map"],
  ["PATCH", "/api/map"],
  ["DELETE", "/api/map"],
  ["POST", "/api/map/refresh"],
  ["DELETE", "/api/map/3"]
]

const freePort = () =>
  new Promise<number>((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const port = (s.address() as { port: number }).port
      s.close(() => resolve(port))
    })
  })

describe("HTTP API, mutations", () => {
  it.each(MUTATIONS)("%s %s is 401 without a token or with a wrong one", async (method, path) => {
    const none = await call(`${api.url}${path}`, { method })
    expect(none.status).toBe(401)
    expect(none.body.code).toBe("unauthorized")
    const wrong = await call(`${api.url}${path}`, { ...bearer(`${TOKEN}x`), method })
    expect(wrong.status).toBe(401)
    expect(wrong.body).toEqual({ code: "unauthorized", error: "invalid bearer token" })
    expect(api.calls).toEqual([])
  })

  it("runs pause, resume, drain-stop and resync with the token", async () => {
    const pause = await call(`${api.url}/pause`, bearer(TOKEN))
    expect(pause).toMatchObject({ status: 200, body: { ok: true, action: "pause" } })
    expect((await call(`${api.url}/status`)).body.paused).toBe(true)
    expect((await call(`${api.url}/resume`, bearer(TOKEN))).status).toBe(200)
    const resync = await call(`${api.url}/tables/accounts/resync`, { ...bearer(TOKEN), body: '{"reason":"test"}' })
    expect(resync).toMatchObject({ status: 200, body: { ok: true, action: "resync", table: "accounts" } })
    expect((await call(`${api.url}/drain-stop`, bearer(TOKEN))).status).toBe(200)
    await Effect.runPromise(Effect.sleep("20 millis"))
    expect(api.calls).toEqual(["pause", "resume", "resync:accounts", "drainStop"])
  })

  it("answers 404 for an unknown table, 409 when the engine refuses, 400 for a bad name or body", async () => {
    const unknown = await call(`${api.url}/tables/orders/resync`, bearer(TOKEN))
    expect(unknown).toMatchObject({ status: 404, body: { code: "not_found", error: 'unknown table "orders"' } })
    const refused = await call(`${api.url}/tables/invoices_all/resync`, bearer(TOKEN))
    expect(refused).toMatchObject({ status: 409, body: { code: "rejected" } })
    expect(refused.body.error).toContain("already running")
    const bad = await call(`${api.url}/tables/${encodeURIComponent("x;drop table y")}/resync`, bearer(TOKEN))
    expect(bad).toMatchObject({ status: 400, body: { code: "invalid_input", field: "table" } })
    const notJson = await call(`${api.url}/pause`, { ...bearer(TOKEN), body: "pause now" })
    expect(notJson).toMatchObject({ status: 400, body: { code: "invalid_input", field: "body" } })
    const badReason = await call(`${api.url}/pause`, { ...bearer(TOKEN), body: '{"reason":42}' })
    expect(badReason).toMatchObject({ status: 400, body: { field: "reason" } })
    expect(api.calls).not.toContain("resync:orders")
  })

  it("refuses map changes in declarative mode with 405 after authentication", async () => {
    for (const [method, path] of MUTATIONS.filter(([, p]) => p.startsWith("/api/map"))) {
      const r = await call(`${api.url}${path}`, { ...bearer(TOKEN), method })
      expect(r.status).toBe(405)
      expect(r.body).toEqual({ code: "not_allowed", error: "cannot modify configuration in declarative mode" })
    }
  })

  it("refuses every mutation when no api.token is configured", async () => {
    const open = await startApi(testConfig(undefined))
    try {
      const r = await call(`${open.url}/pause`, bearer(""))
      expect(r.status).toBe(401)
      expect(r.body.error).toContain("api.token")
      expect(open.calls).toEqual([])
    } finally {
      await open.dispose()
    }
  })

  it("HttpApiLive listens on api.host/api.port, and is empty when the API is disabled", async () => {
    const port = await freePort()
    const { control } = await Effect.runPromise(makeTestControl)
    const deps = (enabled: boolean) =>
      LiveMappingLive.pipe(
        Layer.provideMerge(
          Layer.mergeAll(
            appConfigLayer({ ...testConfig(), api: { ...testConfig().api, enabled, port } }),
            EngineStatusLive,
            Layer.succeed(Writers, {
              byTarget: new Map(),
              failure: Effect.never,
              hasFailed: Effect.succeed(false),
              drained: Effect.void,
              statuses: Effect.succeed([])
            }),
            Layer.scoped(Acknowledger, makeAcknowledger(60_000)),
            Layer.succeed(EngineControl, control)
          )
        )
      )
    const probe = (enabled: boolean) =>
      Effect.scoped(
        Effect.zipRight(
          Layer.build(HttpApiLive.pipe(Layer.provide(SeriesLive), Layer.provide(deps(enabled)))),
          Effect.promise(() =>
            fetch(`http://127.0.0.1:${port}/healthz`).then(
              (r) => r.status,
              () => "refused"
            )
          )
        )
      )
    expect(await Effect.runPromise(probe(true))).toBe(200)
    expect(await Effect.runPromise(probe(false))).toBe("refused")
  })

  it("never sends a password", () => {
    for (const body of bodies) expect(body).not.toContain(PASSWORD)
  })
})
