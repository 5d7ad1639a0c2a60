/**
 * Consistency under load: 200,000-row tables synced while a writer keeps inserting, updating and deleting
 * rows across their whole key range — on first start (exported snapshot), for tables added to the
 * mapping while other tables stream (watermarks, keyed and keyless), and for a resync of one table.
 * After the sync and catch-up, the checksums of source and destination are equal.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import { pipelineConfig, startEngine, waitFor } from "../../support/engine.js"
import {
  digest,
  startLoad,
  startEngineWithResync,
  syncChunks,
  syncDone,
  syncTables,
  type Load
} from "../../support/syncSupport.js"

const ROWS = 200_000

const SOURCE_DDL = `
  create table big (id bigint primary key, v int not null, t text);
  insert into big select g, g % 1000, md5(g::text) from generate_series(1, ${ROWS}) g;
  create table side (id bigint primary key, v int not null);
  insert into side select g, g from generate_series(1, 20000) g;
  create table later (id bigint primary key, v int not null, t text);
  insert into later select g, g % 1000, md5(g::text) from generate_series(1, ${ROWS}) g;
  create table bag (id bigint not null, t text);
  alter table bag replica identity full;
  insert into bag select g % 5000, md5((g % 10)::text) from generate_series(1, 20000) g;`

const DEST_DDL = `
  create table big (id bigint primary key, v int not null, t text);
  create table side (id bigint primary key, v int not null);
  create table later (id bigint primary key, v int not null, t text);
  create table bag (id bigint not null, t text);`

const CHECKS: Record<string, { readonly select: string; readonly order: string }> = {
  big: { select: "select id, v, t from big", order: "id" },
  side: { select: "select id, v from side", order: "id" },
  later: { select: "select id, v, t from later", order: "id" },
  bag: { select: "select id, t from bag", order: "id, t" }
}

const keyedLoad = (url: string, table: string, maxId = ROWS + 20_000) =>
  startLoad(url, {
    table,
    maxId,
    insert: "(id, v, t) values ($1, -1, 'new')",
    set: "v = v + 1, t = md5(random()::text)"
  })
const sideLoad = (url: string) =>
  startLoad(url, { table: "side", maxId: 25_000, insert: "(id, v) values ($1, -1)", set: "v = v + 1" })

describe("initial sync under load", () => {
  let src: TestPg
  let dest: TestPg
  const loads: Array<Load> = []

  const equal = async (targets: ReadonlyArray<string>, timeoutMs = 90_000) => {
    for (const target of targets) {
      const q = CHECKS[target]!
      const expected = await digest(src, "app", q.select, q.order)
      await waitFor(
        `${target} equal after catch-up`,
        async () => (await digest(dest, "dest", q.select, q.order)) === expected,
        timeoutMs
      )
    }
  }
  const stopLoads = async () => {
    const done = await Promise.all(loads.splice(0).map((l) => l.stop()))
    return done.reduce((n, d) => n + d.statements, 0)
  }

  beforeAll(async () => {
    ;[src, dest] = await startTestPgs(2, { version: latestVersion() })
    await src.createDatabase("app")
    await src.query(SOURCE_DDL, [], "app")
    await dest.createDatabase("dest")
    await dest.query(DEST_DDL, [], "dest")
  })

  afterAll(async () => {
    await stopLoads()
    await Promise.all([src?.stop(), dest?.stop()])
  })

  const config = (tables: ReadonlyArray<string>, tuning: Parameters<typeof pipelineConfig>[0]["tuning"] = {}) =>
    pipelineConfig({
      destination: dest.url("dest"),
      sources: [{ database: "app", urls: [{ url: src.url("app"), sid: "" }], tables }],
      tuning: { syncChunkRows: 20_000, syncParallelism: 2, ...tuning }
    })

  it("first start: a 200,000-row table synced while a writer changes rows across its key range", async () => {
    loads.push(await keyedLoad(src.url("app"), "big"))
    const engine = startEngine(config(["big", "side"]))
    try {
      await waitFor("first sync", () => syncDone(dest, "dest", ["big", "side"]), 120_000)
      await new Promise((r) => setTimeout(r, 1_000))
      expect(await stopLoads()).toBeGreaterThan(100)
      await equal(["big", "side"])
      expect((await syncTables(dest, "dest")).map((r) => r.method)).toEqual(["snapshot", "snapshot"])
      expect(engine.failed()).toBe(false)
    } finally {
      await engine.stop()
    }
  })

  it("tables added later are copied with watermarks while the others stream and all are written to", async () => {
    loads.push(await keyedLoad(src.url("app"), "later"), await sideLoad(src.url("app")))
    loads.push(
      await startLoad(src.url("app"), {
        table: "bag",
        maxId: 6_000,
        insert: "(id, t) values ($1, 'new')",
        set: "t = md5(random()::text)"
      })
    )
    const engine = startEngineWithResync(config(["big", "side", "later", "bag"]))
    try {
      await waitFor("later and bag synced", () => syncDone(dest, "dest", ["later", "bag"]), 150_000)
      await new Promise((r) => setTimeout(r, 1_000))
      await stopLoads()
      await equal(["later", "bag", "side", "big"])
      const rows = await syncTables(dest, "dest")
      expect(rows.filter((r) => r.target === "later" || r.target === "bag").map((r) => [r.target, r.method])).toEqual([
        ["bag", "watermark"],
        ["later", "watermark"]
      ])
      const chunks = await syncChunks(dest, "dest", "later")
      expect(chunks.length).toBeGreaterThanOrEqual(10)
      expect(chunks.every((c) => c.method === "watermark" && c.done_at !== null)).toBe(true)

      // resync: the destination drifted; copy `later` again while it is written to and the rest streams
      await dest.query("delete from later where id % 3 = 0; update later set v = -99 where id % 7 = 0", [], "dest")
      loads.push(await keyedLoad(src.url("app"), "later"), await sideLoad(src.url("app")))
      const before = await dest.query("select started_at from walferry.sync_tables where target = 'later'", [], "dest")
      await engine.resync("later")
      await waitFor(
        "resync of later",
        async () => {
          const [r] = await dest.query(
            "select state, started_at from walferry.sync_tables where target = 'later'",
            [],
            "dest"
          )
          return r.state === "done" && r.started_at > before[0].started_at
        },
        120_000
      )
      await new Promise((r) => setTimeout(r, 1_000))
      await stopLoads()
      await equal(["later", "side"])
      expect(engine.failed()).toBe(false)
    } finally {
      await engine.stop()
    }
  })

  it("stopping during a copy while streaming drains at once; the next start copies only the rest", async () => {
    await dest.query("update later set v = -5 where id % 5 = 0", [], "dest")
    loads.push(await keyedLoad(src.url("app"), "later"))
    const slow = startEngineWithResync(config(["big", "side", "later", "bag"], { syncRateRows: 40_000 }))
    await new Promise((r) => setTimeout(r, 1_000))
    await slow.resync("later")
    await waitFor(
      "a few chunks",
      async () => {
        const chunks = await syncChunks(dest, "dest", "later")
        return chunks.filter((c) => c.done_at !== null).length >= 3 && chunks.some((c) => c.done_at === null)
      },
      60_000
    )
    const stopping = performance.now()
    await slow.stop()
    expect(performance.now() - stopping).toBeLessThan(5_000)
    const doneBefore = (await syncChunks(dest, "dest", "later")).filter((c) => c.done_at !== null)
    const engine = startEngine(config(["big", "side", "later", "bag"]))
    try {
      await waitFor("resumed sync done", () => syncDone(dest, "dest", ["later"]), 120_000)
      await new Promise((r) => setTimeout(r, 1_000))
      await stopLoads()
      await equal(["later", "side"])
      const after = await syncChunks(dest, "dest", "later")
      for (const c of doneBefore) expect(after.find((a) => a.chunk === c.chunk)!.done_at).toEqual(c.done_at)
    } finally {
      await engine.stop()
    }
  })
})
