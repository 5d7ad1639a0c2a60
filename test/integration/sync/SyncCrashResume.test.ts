/**
 * kill -9 during a large first-start sync (a real walferry process), with a writer changing the table
 * throughout, then a restart: the slot is kept, the chunks committed before the kill are not copied
 * again (their progress records keep the first run's id, and the second run's logs copy only the
 * others, with watermarks since the exported snapshot died with the process), and the result is equal.
 * The first run loaded the emptied table without its key (DeferredIndexes): the restart rebuilds it first.
 * Runs on the oldest source version under test (13 by default: watermarks through the watermark table).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { testVersions } from "../../support/versions.js"
import { waitFor } from "../../support/engine.js"
import { startSyncProcess, type SyncProcess, type SyncProcessOptions } from "../../support/syncProcess.js"
import { digest, startLoad, syncChunks, type Load } from "../../support/syncSupport.js"

const ROWS = 400_000
const CHUNK = 20_000

describe("kill -9 during the initial sync, then restart", () => {
  let src: TestPg
  let dest: TestPg
  let load: Load | undefined
  const processes: Array<SyncProcess> = []

  beforeAll(async () => {
    const oldest = testVersions().reduce((a, b) => (a < b ? a : b))
    ;[src, dest] = await Promise.all([startTestPg({ version: oldest }), startTestPg({ version: oldest })])
    await src.createDatabase("app")
    await src.query(
      `create table big (id bigint primary key, v int not null, t text);
       insert into big select g, g % 1000, md5(g::text) from generate_series(1, ${ROWS}) g;`,
      [],
      "app"
    )
    await dest.createDatabase("dest")
    await dest.query("create table big (id bigint primary key, v int not null, t text)", [], "dest")
  })

  afterAll(async () => {
    await load?.stop().catch(() => undefined)
    await Promise.all(processes.map((p) => p.stop()))
    await Promise.all([src?.stop(), dest?.stop()])
  })

  it("copies only the unfinished chunks again and ends equal", async () => {
    const options: SyncProcessOptions = {
      destination: dest.url("dest"),
      map: [{ database: "app", urls: [{ url: src.url("app"), sid: "" }], tables: { big: null } }],
      tuning: { sync_chunk_rows: CHUNK, sync_parallelism: 2, sync_rate_rows: 60_000, commit_interval_ms: 50 },
      logLevel: "info"
    }
    load = await startLoad(src.url("app"), {
      table: "big",
      maxId: ROWS + 10_000,
      insert: "(id, v, t) values ($1, -1, 'new')",
      set: "v = v + 1, t = md5(random()::text)",
      pauseMs: 1
    })
    const first = startSyncProcess(options)
    processes.push(first)
    await waitFor(
      "a few chunks copied",
      async () => (await syncChunks(dest, "dest", "big")).filter((c) => c.done_at !== null).length >= 4,
      90_000
    )
    first.kill("SIGKILL")
    await first.exited
    const before = await syncChunks(dest, "dest", "big")
    const doneBefore = before.filter((c) => c.done_at !== null)
    expect(doneBefore.length).toBeGreaterThanOrEqual(4)
    expect(doneBefore.length).toBeLessThan(before.length)
    expect(new Set(doneBefore.map((c) => c.run_id)).size).toBe(1)
    // the first copy loads the emptied table bare: its key is rebuilt by the restarted process
    const keyOf = () => dest.query("select indexname from pg_indexes where tablename = 'big'", [], "dest")
    expect(await keyOf()).toEqual([])
    expect(await dest.query("select source from walferry.deferred_indexes", [], "dest")).toEqual([{ source: "app/" }])

    const second = startSyncProcess(options)
    processes.push(second)
    await waitFor("sync done", async () => /initial sync of public\.big → big done/.test(second.output()), 120_000)
    await new Promise((r) => setTimeout(r, 1_000))
    await load.stop()
    load = undefined

    const after = await syncChunks(dest, "dest", "big")
    for (const c of doneBefore) {
      const same = after.find((a) => a.chunk === c.chunk)!
      expect(same.run_id).toBe(c.run_id)
      expect(same.done_at).toEqual(c.done_at)
      expect(same.method).toBe("snapshot")
    }
    const redone = after.filter((c) => !doneBefore.some((d) => d.chunk === c.chunk))
    expect(redone.every((c) => c.method === "watermark" && c.run_id !== doneBefore[0]!.run_id)).toBe(true)

    expect(await keyOf()).toEqual([{ indexname: "big_pkey" }])
    expect(await dest.query("select * from walferry.deferred_indexes", [], "dest")).toEqual([])
    const logs = second.output()
    expect(logs).toMatch(/rebuilt 1 index\(es\) of public\.big an interrupted initial copy deferred/)
    const copied = [...logs.matchAll(/copied chunk (\d+)\/\d+ of public\.big/g)].map((m) => Number(m[1]) - 1)
    expect(copied.sort((a, b) => a - b)).toEqual(redone.map((c) => c.chunk))
    expect(logs).toMatch(
      new RegExp(
        `resuming initial sync of public\\.big.*${doneBefore.length} of ${after.length} chunk\\(s\\) already copied`
      )
    )

    const q = "select id, v, t from big"
    const expected = await digest(src, "app", q, "id")
    await waitFor("equal after catch-up", async () => (await digest(dest, "dest", q, "id")) === expected, 60_000)
    await second.stop()
  })
})
