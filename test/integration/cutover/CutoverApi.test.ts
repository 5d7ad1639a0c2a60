/**
 * The sequence and cutover routes on the HTTP API of a real walferry process: POST /sequences/sync copies
 * the sequences and /status then shows each one's state; POST /cutover/{step} runs one step (lag,
 * catch-up) and answers its result; an unknown step is a 404; both need the bearer token.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { waitFor } from "../../support/engine.js"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import { startWalferry, stopAllWalferry, type WalferryProcess } from "../../support/WalferryProcess.js"

describe("cutover and sequences over the HTTP API of a running walferry", () => {
  let source: TestPg
  let dest: TestPg
  let proc: WalferryProcess

  const post = async (path: string, token = proc.token) => {
    const res = await fetch(`http://127.0.0.1:${proc.port}${path}`, {
      method: "POST",
      headers: { authorization: `Bearer ${token}` }
    })
    return { status: res.status, body: (await res.json()) as Record<string, unknown> }
  }

  beforeAll(async () => {
    ;[source, dest] = await startTestPgs(2, { version: latestVersion() })
    await source.createDatabase("shop")
    await source.query("create table items (id serial primary key, name text)", [], "shop")
    await source.query("insert into items (name) select 'seed' from generate_series(1, 100)", [], "shop")
    await dest.createDatabase("dwh")
    await dest.query("create table items (id serial primary key, name text)", [], "dwh")
    proc = await startWalferry({
      destination: dest.url("dwh"),
      map: [{ database: "shop", urls: [{ url: source.url("shop"), sid: "" }], tables: { items: null } }]
    })
    await waitFor("streaming", async () => (await proc.status()).sources.every((s) => s.state === "streaming"))
  })

  afterAll(async () => {
    await stopAllWalferry()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("POST /sequences/sync copies the sequences and /status shows them", async () => {
    expect((await post("/sequences/sync", "wrong")).status).toBe(401)
    const { status, body } = await post("/sequences/sync")
    expect(status).toBe(200)
    expect(body.sequences).toEqual([
      expect.objectContaining({
        sequence: "public.items_id_seq",
        sourceValue: "100",
        destinationValue: "1100",
        error: null
      })
    ])
    const view = (await proc.status()) as unknown as { sequences: ReadonlyArray<Record<string, unknown>> }
    expect(view.sequences).toEqual([
      expect.objectContaining({
        sequence: "public.items_id_seq",
        destinationValue: "1100",
        lastSyncAt: expect.any(String)
      })
    ])
  })

  it("POST /cutover/{step} runs one step and answers its result", async () => {
    const lag = await post("/cutover/lag")
    expect(lag.status).toBe(200)
    expect(lag.body).toMatchObject({ step: "lag", ok: true })
    await source.query("insert into items (name) values ('late')", [], "shop")
    const caughtUp = await post("/cutover/catch-up")
    expect(caughtUp.body).toMatchObject({ step: "catch-up", ok: true })
    expect((await dest.query("select count(*)::int n from items", [], "dwh"))[0].n).toBe(101)
    expect((await post("/cutover/teleport")).status).toBe(404)
  })
})
