/**
 * A table added while streaming is copied with watermarks while its rows are updated. pgoutput sends a
 * TOASTed column that an update leaves unchanged as "unchanged" ('u'): for a row whose chunk is not copied
 * yet the destination has no row to keep the value from, and inserting the update as a row would write
 * the column NULL (here NOT NULL on the destination: the table would stop). Key changes move rows between
 * chunks, also into chunks already copied. Nothing partial may be written and nothing lost: the
 * destination ends equal to the source. Outside a copy, an update of a missing row still inserts it.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import { pipelineConfig, startEngine, waitFor } from "../../support/engine.js"
import { digest, syncDone } from "../../support/syncSupport.js"

const ROWS = 4_000

const SOURCE_DDL = `
  create table side (id int primary key, v int not null);
  insert into side select g, g from generate_series(1, 100) g;
  create table notes (id int primary key, v int not null, doc text);
  alter table notes alter column doc set storage external;
  insert into notes select g, 0, repeat(md5(g::text), 80) from generate_series(1, 20) g;
  create table docs (id int primary key, v int not null, doc text not null);
  alter table docs alter column doc set storage external;
  insert into docs select g, 0, repeat(md5(g::text), 80) from generate_series(1, ${ROWS}) g;`

const DEST_DDL = `
  create table side (id int primary key, v int not null);
  create table notes (id int primary key, v int not null, doc text);
  create table docs (id int primary key, v int not null, doc text not null);`

const DOCS = "select id, v, md5(doc) as doc from docs"

/** updates (mostly leaving `doc` unchanged), key flips between the two ends of the key range, deletes, inserts */
const startDocsLoad = (url: string, clients = 2) => {
  let running = true
  const counts = { statements: 0, flips: 0, errors: 0 }
  const one = async (client: pg.Client) => {
    const id = 1 + Math.floor(Math.random() * ROWS)
    const op = Math.random()
    if (op < 0.55) await client.query("update docs set v = v + 1 where id in ($1::int, -$1::int)", [id])
    else if (op < 0.75) {
      // -id sorts into the first chunk, copied early; +id into a later one
      const r = await client.query(
        "update docs set id = -id, v = v + 1 where id = $1::int and not exists (select 1 from docs where id = -$1::int)",
        [Math.random() < 0.5 ? id : -id]
      )
      counts.flips += r.rowCount ?? 0
    } else if (op < 0.83) await client.query("delete from docs where id = $1", [id])
    else if (op < 0.91) {
      await client.query("insert into docs values ($1, -1, repeat(md5(random()::text), 80)) on conflict do nothing", [
        id
      ])
    } else await client.query("update docs set doc = repeat(md5(random()::text), 80) where id = $1", [id])
    counts.statements++
  }
  const loop = async () => {
    const client = new pg.Client({ connectionString: url })
    client.on("error", () => undefined)
    await client.connect()
    try {
      while (running) {
        // two clients flipping the same key can collide on the primary key: counted, not fatal
        await one(client).catch(() => (counts.errors += 1))
        await new Promise((r) => setTimeout(r, 1))
      }
    } finally {
      await client.end().catch(() => undefined)
    }
  }
  // a client that cannot connect fails stop(), not the process (an unhandled rejection)
  let failure: unknown
  const loops = Array.from({ length: clients }, () => loop().catch((e: unknown) => void (failure ??= e)))
  return {
    stop: async () => {
      running = false
      await Promise.all(loops)
      if (failure !== undefined) throw failure
      return counts
    }
  }
}

describe("online copy of a table with unchanged TOAST values", () => {
  let src: TestPg
  let dest: TestPg

  beforeAll(async () => {
    ;[src, dest] = await startTestPgs(2, { version: latestVersion() })
    await src.createDatabase("app")
    await src.query(SOURCE_DDL, [], "app")
    await dest.createDatabase("dest")
    await dest.query(DEST_DDL, [], "dest")
  })

  afterAll(async () => {
    await Promise.all([src?.stop(), dest?.stop()])
  })

  const config = (tables: ReadonlyArray<string>) =>
    pipelineConfig({
      destination: dest.url("dest"),
      sources: [{ database: "app", urls: [{ url: src.url("app"), sid: "" }], tables }],
      tuning: { syncChunkRows: 250, syncParallelism: 2, syncRateRows: 1_000 }
    })

  it("writes no partial row and loses none while the chunks are copied", async () => {
    const first = startEngine(config(["side", "notes"]))
    try {
      await waitFor("first sync", () => syncDone(dest, "dest", ["side", "notes"]), 60_000)
    } finally {
      await first.stop()
    }

    const load = startDocsLoad(src.url("app"))
    let stats: { statements: number; flips: number; errors: number } | undefined
    const engine = startEngine(config(["side", "notes", "docs"]))
    try {
      await waitFor("docs copied while streaming", () => syncDone(dest, "dest", ["docs"]), 90_000)
      await new Promise((r) => setTimeout(r, 500))
      stats = await load.stop()
      const expected = await digest(src, "app", DOCS, "id")
      const got = async () => digest(dest, "dest", DOCS, "id")
      await waitFor("docs equal after catch-up", async () => (await got()) === expected, 30_000).catch(() => undefined)
      expect(await got(), `load ${JSON.stringify(stats)}`).toBe(expected)
      expect(stats.flips).toBeGreaterThan(50)
      const [{ n }] = await dest.query("select count(*)::int as n from walferry.sync_missing", [], "dest")
      expect(n).toBe(0)
      const [chunks] = await dest.query(
        "select count(*)::int as n, bool_and(done_at is not null) as done from walferry.sync_chunks where target = 'docs'",
        [],
        "dest"
      )
      expect(chunks.done).toBe(true)
      expect(chunks.n).toBeGreaterThanOrEqual(10)

      // outside a copy an update of a row the destination lacks still inserts it (unchanged columns NULL)
      await dest.query("delete from notes where id = 5", [], "dest")
      await src.query("update notes set v = v + 1 where id in (5, 6)", [], "app")
      await waitFor("notes updated", async () => {
        const rows = await dest.query(
          "select id, v, doc is null as gone from notes where id in (5, 6) order by id",
          [],
          "dest"
        )
        return (
          JSON.stringify(rows) ===
          JSON.stringify([
            { id: 5, v: 1, gone: true },
            { id: 6, v: 1, gone: false }
          ])
        )
      })
      expect(engine.failed()).toBe(false)
    } finally {
      if (stats === undefined) await load.stop().catch(() => undefined)
      await engine.stop()
    }
  })
})
