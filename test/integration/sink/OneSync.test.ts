/**
 * OneSync on real Postgres: the statements of a round run in one implicit transaction (a failure of the last
 * rolls back the first), named statements are parsed once per connection, a setting made local by the first
 * statement holds for the rest of the round only, and the connection serves ordinary queries afterwards.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { oneSync } from "../../../src/sink/OneSync.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"

let server: TestPg
let client: pg.Client

beforeAll(async () => {
  server = await startTestPg({ version: latestVersion() })
  client = new pg.Client({ connectionString: await server.createDatabase("onesync") })
  await client.connect()
  await client.query(
    `create table "a b" (id int primary key, v text); create table c (id int primary key check (id > 0))`
  )
})
afterAll(async () => {
  await client?.end().catch(() => undefined)
  await server?.stop()
})

const insertA = { name: "ins_a", text: `insert into "a b" values ($1, $2) returning id`, values: [1, "x"] }
const parsed = () => (client as unknown as { connection: { parsedStatements: Record<string, string> } }).connection

describe("OneSync", () => {
  it("runs its statements in one transaction and returns the first row of each", async () => {
    const rows = await oneSync(client, [
      insertA,
      { name: "ins_c", text: "insert into c values ($1) returning id * 10 as x", values: [2] },
      { name: undefined, text: 'select count(*)::int as n from "a b"', values: [] }
    ])
    expect(rows).toEqual([{ id: 1 }, { x: 20 }, { n: 1 }])
    expect(parsed().parsedStatements["ins_a"]).toBe(insertA.text)
    // same names again: bound, not parsed a second time (a second Parse of a name would fail)
    const again = await oneSync(client, [
      { ...insertA, values: [3, "y"] },
      { name: "ins_c", text: "insert into c values ($1) returning id * 10 as x", values: [4] }
    ])
    expect(again).toEqual([{ id: 3 }, { x: 40 }])
  })

  it("rolls the whole round back when a later statement fails, with that statement's error", async () => {
    const before = (await client.query(`select count(*)::int n from "a b"`)).rows[0].n
    const failed = await oneSync(client, [
      { ...insertA, values: [10, "z"] },
      { name: "ins_c", text: "insert into c values ($1) returning id * 10 as x", values: [-1] }
    ]).then(
      () => undefined,
      (e: { code?: string }) => e
    )
    expect(failed?.code).toBe("23514")
    expect((await client.query(`select count(*)::int n from "a b"`)).rows[0].n).toBe(before)
    expect((await client.query("select 1 as one")).rows).toEqual([{ one: 1 }])
  })

  it("takes the same new statement twice in one round, and a local setting lasts for the round only", async () => {
    const show = { name: "show_lt", text: "select current_setting('lock_timeout') as t", values: [] }
    const rows = await oneSync(client, [
      { name: undefined, text: "select set_config('lock_timeout', '150ms', true)", values: [] },
      show,
      show
    ])
    expect(rows.slice(1)).toEqual([{ t: "150ms" }, { t: "150ms" }])
    expect((await client.query("select current_setting('lock_timeout') as t")).rows).toEqual([{ t: "0" }])
  })
})
