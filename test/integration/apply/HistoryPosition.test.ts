/**
 * A history table made for kuvasz-streamer (no kvsz_lsn): the position column is added when the mapping
 * allows it and the destination role owns the table, and never otherwise.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import pg from "pg"
import type { TableMapping } from "../../../src/config/Config.js"
import { ensureHistoryPosition } from "../../../src/apply/history/HistoryPosition.js"
import { describeTargetTable } from "../../../src/target/TargetCatalog.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { HISTORY } from "../../support/historyChanges.js"
import { latestVersion } from "../../support/versions.js"

const KUVASZ_T4 = (name: string) => `create table ${name} (kvsz_id bigserial, sid text, id int, name text,
  kvsz_start timestamptz not null default '1900-01-01', kvsz_end timestamptz not null default '9999-01-01',
  kvsz_deleted boolean not null default false, primary key (sid, id, kvsz_id))`

describe("ensureHistoryPosition", () => {
  let server: TestPg
  let url: string
  beforeAll(async () => {
    server = await startTestPg({ version: latestVersion() })
    url = await server.createDatabase("hp")
    await server.query(
      `${KUVASZ_T4("owned")}; ${KUVASZ_T4("refused")}; ${KUVASZ_T4("notmine")};
       insert into owned (sid, id, name) values ('a', 1, 'x');
       create role kv_writer login; grant all on all tables in schema public to kv_writer`,
      [],
      "hp"
    )
  })
  afterAll(() => server?.stop())

  const run = async (table: string, mapping: Partial<TableMapping>, user?: string) => {
    const u = new URL(url)
    if (user) {
      u.username = user
      u.password = ""
    }
    const client = new pg.Client({ connectionString: u.toString() })
    await client.connect()
    try {
      const found = (await Effect.runPromise(describeTargetTable(client, "public", table)))!
      const m = { mode: "history" as const, history: HISTORY, ...mapping }
      const after = await Effect.runPromise(ensureHistoryPosition(client, found, m))
      return after.columns.find((c) => c.name === "kvsz_lsn")?.typeName
    } finally {
      await client.end()
    }
  }

  it("adds kvsz_lsn numeric to a table the role owns, keeping its rows (NULL position)", async () => {
    expect(await run("owned", {})).toBe("numeric")
    expect(await server.query("select id, name, kvsz_lsn from owned", [], "hp")).toEqual([
      { id: 1, name: "x", kvsz_lsn: null }
    ])
    expect(await run("owned", {})).toBe("numeric")
  })

  it("leaves the table alone when add_position_column is false, or the role does not own it", async () => {
    expect(await run("refused", { addPositionColumn: false })).toBeUndefined()
    expect(await run("notmine", {}, "kv_writer")).toBeUndefined()
    expect(await run("notmine", { mode: "clone" })).toBeUndefined()
    const cols = await server.query(
      "select table_name from information_schema.columns where column_name = 'kvsz_lsn' order by 1",
      [],
      "hp"
    )
    expect(cols).toEqual([{ table_name: "owned" }])
  })
})
