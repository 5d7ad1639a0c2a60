/**
 * Resync through the API of a real walferry process: one of two streamed tables is damaged in the destination
 * directly, `POST /tables/{table}/resync` copies it again (equal to the source by digest, including changes
 * made while it copies) while the other table keeps streaming; without the token it is refused (401), an
 * unknown table gets 404 and a malformed name 400, both with a JSON error.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import { waitFor } from "../../support/engine.js"
import {
  startWalferry,
  stopAllWalferry,
  tableDigest,
  waitStreaming,
  type WalferryProcess
} from "../../support/WalferryProcess.js"

const ITEMS = 20_000

interface TableJson {
  readonly target: string
  readonly state: string
  readonly rowsApplied: number
  readonly syncProgress?: { readonly chunksDone: number; readonly chunksTotal: number; readonly rows: number }
}

describe("resync of one table through the API of a real process", () => {
  let source: TestPg
  let dest: TestPg
  let proc: WalferryProcess

  const tableOf = async (target: string): Promise<TableJson> => {
    const st = (await proc.status()) as unknown as { tables: ReadonlyArray<TableJson> }
    const t = st.tables.find((x) => x.target === target)
    if (t === undefined) throw new Error(`no table ${target} in /status`)
    return t
  }
  const digests = (table: string) =>
    Promise.all([tableDigest(source, "shop", table, "id"), tableDigest(dest, "dwh", table, "id")])
  const copied = (t: TableJson) =>
    t.syncProgress !== undefined && t.syncProgress.chunksDone === t.syncProgress.chunksTotal
  const resync = (table: string, headers: Record<string, string> = {}) =>
    fetch(`http://127.0.0.1:${proc.port}/tables/${encodeURIComponent(table)}/resync`, {
      method: "POST",
      headers: { authorization: `Bearer ${proc.token}`, ...headers }
    })

  beforeAll(async () => {
    ;[source, dest] = await startTestPgs(2, { version: latestVersion() })
    await Promise.all([source.createDatabase("shop"), dest.createDatabase("dwh")])
    for (const [server, db] of [
      [source, "shop"],
      [dest, "dwh"]
    ] as const) {
      await server.query("create table items (id int primary key, name text, qty int)", [], db)
      await server.query("create table orders (id int primary key, item int, note text)", [], db)
    }
    await source.query(
      "insert into items select g, 'item ' || g, g % 97 from generate_series(1, $1::int) g",
      [ITEMS],
      "shop"
    )
    await source.query("insert into orders select g, g, 'seed' from generate_series(1, 100) g", [], "shop")
    proc = await startWalferry({
      destination: dest.url("dwh"),
      map: [{ database: "shop", urls: [{ url: source.url("shop"), sid: "" }], tables: { items: null, orders: null } }],
      // slow enough copies that the resync visibly overlaps streaming: 4 chunks at ~5,000 rows/s
      tuning: { sync_chunk_rows: 5_000, sync_rate_rows: 5_000, sync_parallelism: 1 }
    })
    await waitStreaming(proc)
    await waitFor("initial copy", async () => copied(await tableOf("items")), 60_000)
    await waitFor("orders copied", async () => {
      const [src, dst] = await digests("orders")
      return src === dst
    })
  })

  afterAll(async () => {
    await stopAllWalferry()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("refuses a resync without the token (401) and names unknown or malformed tables (404, 400)", async () => {
    const anonymous = await fetch(`http://127.0.0.1:${proc.port}/tables/items/resync`, { method: "POST" })
    expect(anonymous.status).toBe(401)
    expect(await anonymous.json()).toMatchObject({ code: "unauthorized" })
    const wrong = await resync("items", { authorization: "Bearer not-the-token" })
    expect(wrong.status).toBe(401)

    const unknown = await resync("nosuchtable")
    expect(unknown.status).toBe(404)
    expect(unknown.headers.get("content-type")).toMatch(/application\/json/)
    expect(await unknown.json()).toEqual({ code: "not_found", error: 'unknown table "nosuchtable"' })

    const malformed = await resync("items; drop table items")
    expect(malformed.status).toBe(400)
    expect(await malformed.json()).toMatchObject({ code: "invalid_input", field: "table" })
    expect(copied(await tableOf("items"))).toBe(true)
  })

  it("copies the damaged table again while the other one keeps streaming", async () => {
    expect((await digests("items"))[1]).toBe((await digests("items"))[0])
    await dest.query("delete from items where id % 10 = 0", [], "dwh")
    await dest.query("update items set name = 'corrupted', qty = -1 where id % 7 = 0", [], "dwh")
    await dest.query("insert into items values (-1, 'not in the source', 0)", [], "dwh")
    const [srcBefore, dstBefore] = await digests("items")
    expect(dstBefore).not.toBe(srcBefore)
    const ordersApplied = (await tableOf("orders")).rowsApplied

    const res = await resync("items")
    expect(res.status).toBe(200)
    expect(await res.json()).toEqual({ ok: true, action: "resync", table: "items" })
    await waitFor("items syncing", async () => (await tableOf("items")).state === "syncing", 20_000)

    // while items is copied again: orders keeps streaming, and items' own changes are not lost
    await source.query("insert into orders select g, g, 'during resync' from generate_series(101, 200) g", [], "shop")
    await source.query("update items set qty = qty + 1000 where id between 1 and 50", [], "shop")
    await source.query("delete from items where id between 19991 and 20000", [], "shop")
    await waitFor("orders streamed during the resync", async () => {
      const [{ n }] = await dest.query("select count(*)::int n from orders where note = 'during resync'", [], "dwh")
      return n === 100
    })
    const during = await tableOf("items")
    expect(during.state).toBe("syncing")
    expect(copied(during)).toBe(false)
    const orders = await tableOf("orders")
    expect(orders.state).toBe("streaming")
    expect(orders.rowsApplied).toBe(ordersApplied + 100)

    await waitFor("resync done", async () => copied(await tableOf("items")), 60_000)
    await waitFor("items equal to the source", async () => {
      const [src, dst] = await digests("items")
      return src === dst
    })
    const [src, dst] = await digests("items")
    expect(dst).toBe(src)
    expect(src).toContain(`${ITEMS - 10} rows`)
    const [ordersSrc, ordersDst] = await digests("orders")
    expect(ordersDst).toBe(ordersSrc)
    expect((await tableOf("items")).state).toBe("streaming")

    // and the stream goes on into the re-copied table
    await source.query("insert into items values (30001, 'after resync', 1)", [], "shop")
    await waitFor("streamed after the resync", async () => {
      const rows = await dest.query("select name from items where id = 30001", [], "dwh")
      return rows[0]?.name === "after resync"
    })
  })
})
