/**
 * One side of a two-way pair (`destination.origin` set) takes writes of its own, some still on their way to the
 * other side. A clone table's initial copy into it must not truncate them: it upserts, unless the table asks
 * for `existing_rows: truncate`. Without an origin the clone default stays truncate.
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { pipelineConfig, startEngine, tableMapping, waitFor } from "../../support/engine.js"

const rows = (pg: TestPg, db: string, table: string) =>
  pg.query<{ id: number; v: string }>(`select id, v from ${table} order by id`, [], db)

describe("initial copy into one side of a two-way pair (PostgreSQL 17)", () => {
  let pg: TestPg

  beforeAll(async () => {
    pg = await startTestPg({ version: 17 })
    await pg.createDatabase("src")
    await pg.createDatabase("dst")
    const ddl = "create table own (id int primary key, v text); create table reload (id int primary key, v text);"
    await pg.query(ddl, [], "src")
    await pg.query(ddl, [], "dst")
    await pg.query("insert into own values (1, 's1'), (2, 's2'); insert into reload values (1, 's1')", [], "src")
    // rows the destination side wrote itself, and one it has in common with the source
    await pg.query(
      "insert into own values (2, 'old'), (100, 'd100'); insert into reload values (100, 'd100')",
      [],
      "dst"
    )
  }, 120_000)

  afterAll(async () => {
    await pg?.stop()
  })

  it("upserts clone tables by default and truncates when the table says so", async () => {
    const config = pipelineConfig({
      destination: pg.url("dst"),
      sources: [{ database: "src", urls: [{ url: pg.url("src"), sid: "" }], tables: ["own"] }]
    })
    const group = config.sources[0]!
    const engine = startEngine({
      ...config,
      destination: { ...config.destination, origin: "two_way" },
      sources: [{ ...group, tables: [...group.tables, { ...tableMapping("reload"), existingRows: "truncate" }] }]
    })
    try {
      await waitFor(
        "both copies",
        async () => (await pg.query("select 1 from walferry.sync_tables where state = 'done'", [], "dst")).length === 2,
        60_000
      )
      expect(await rows(pg, "dst", "own")).toEqual([
        { id: 1, v: "s1" },
        { id: 2, v: "s2" },
        { id: 100, v: "d100" }
      ])
      expect(await rows(pg, "dst", "reload")).toEqual([{ id: 1, v: "s1" }])
      await pg.query("insert into own values (3, 's3')", [], "src")
      await waitFor("a streamed row", async () => (await rows(pg, "dst", "own")).length === 4)
      expect(engine.failed()).toBe(false)
    } finally {
      await engine.stop()
    }
  }, 120_000)
})
