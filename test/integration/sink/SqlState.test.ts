import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { relation, source } from "../../support/changes.js"
import { applyBatch } from "../../../src/apply/clone/CloneApply.js"
import { applyError, classify, describe as describeError } from "../../../src/sink/SqlState.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"

let server: TestPg
let url: string
const clients: Array<pg.Client> = []
const connect = async () => {
  const c = new pg.Client({ connectionString: url })
  c.on("error", () => undefined)
  await c.connect()
  clients.push(c)
  return c
}
/** the error a statement raises */
const failing = async (c: pg.Client, sql: string): Promise<unknown> =>
  c.query(sql).then(
    () => expect.fail(`expected ${sql} to fail`),
    (e: unknown) => e
  )

beforeAll(async () => {
  server = await startTestPg({ version: latestVersion() })
  url = await server.createDatabase("errs")
  await server.query(
    `create table t1 (id int primary key, name text not null, n int check (n > 0)); insert into t1 values (1, 'a', 1), (2, 'b', 2)`,
    [],
    url.slice(url.lastIndexOf("/") + 1)
  )
})
afterAll(async () => {
  for (const c of clients) await c.end().catch(() => undefined)
  await server?.stop()
})

const t1 = { schema: "public", name: "t1" }

describe("SqlState with real server errors", () => {
  it("schema and data problems are permanent, with table, column and constraint named", async () => {
    const c = await connect()
    const cases: Array<[string, string, RegExp]> = [
      [
        "select nope from t1",
        "42703",
        /^walferry: table public\.t1: column "nope": 42703 undefined_column: column "nope" does not exist$/
      ],
      ["select * from missing", "42P01", /42P01 undefined_table: relation "missing" does not exist/],
      [
        "insert into t1 values (3, null, 1)",
        "23502",
        /^walferry: table public\.t1: column "name": 23502 not_null_violation: /
      ],
      ["insert into t1 values (1, 'x', 1)", "23505", /constraint "t1_pkey": 23505 unique_violation: /],
      ["update t1 set n = -1", "23514", /constraint "t1_n_check": 23514 check_violation: /],
      ["select 'x'::int", "22P02", /22P02 invalid_text_representation: invalid input syntax for type integer: "x"/],
      ["select 1/0", "22012", /22012 division_by_zero/],
      ["insert into t1 (id, name) select 'x'::text, 'y'", "42804", /column "id": 42804 datatype_mismatch: /]
    ]
    for (const [sql, code, message] of cases) {
      const err = await failing(c, sql)
      expect((err as { code: string }).code).toBe(code)
      expect(classify(err)).toBe("permanent")
      expect(describeError(err, t1)).toMatch(message)
    }
  })

  it("serialization failures, deadlocks, lock and statement timeouts are transient", async () => {
    const [a, b] = [await connect(), await connect()]
    await a.query("begin isolation level repeatable read; select * from t1")
    await b.query("update t1 set n = n + 1 where id = 1")
    const serialization = await failing(a, "update t1 set n = n + 1 where id = 1")
    await a.query("rollback")
    expect([(serialization as { code: string }).code, classify(serialization)]).toEqual(["40001", "transient"])

    await a.query("begin; update t1 set n = 5 where id = 1")
    await b.query("begin; update t1 set n = 5 where id = 2")
    const first = a.query("update t1 set n = 6 where id = 2").catch((e: unknown) => e)
    await new Promise((r) => setTimeout(r, 100))
    const second = await b.query("update t1 set n = 6 where id = 1").catch((e: unknown) => e)
    const deadlock = [await first, second].find((e) => (e as { code?: string } | undefined)?.code === "40P01")
    await a.query("rollback")
    await b.query("rollback")
    expect(classify(deadlock)).toBe("transient")

    await a.query("begin; lock table t1")
    const lock = await failing(b, "set lock_timeout = '50ms'; select * from t1")
    await a.query("rollback")
    expect([(lock as { code: string }).code, classify(lock)]).toEqual(["55P03", "transient"])
    const timeout = await failing(b, "set statement_timeout = '50ms'; select pg_sleep(1)")
    expect([(timeout as { code: string }).code, classify(timeout)]).toEqual(["57014", "transient"])
  })

  it("a terminated or unreachable connection is transient", async () => {
    const [victim, killer] = [await connect(), await connect()]
    const { rows } = await victim.query("select pg_backend_pid() as pid")
    await killer.query("select pg_terminate_backend($1)", [rows[0].pid])
    const terminated = await failing(victim, "select 1")
    expect(classify(terminated)).toBe("transient")
    const again = await failing(victim, "select 1")
    expect(classify(again)).toBe("transient")

    const refused = await new pg.Client({ host: "127.0.0.1", port: 1, user: "x", connectionTimeoutMillis: 2000 })
      .connect()
      .then(
        () => expect.fail("connected to port 1"),
        (e: unknown) => e
      )
    expect((refused as { code: string }).code).toBe("ECONNREFUSED")
    expect(classify(refused)).toBe("transient")
    expect(classify(new Error("boom"))).toBe("permanent")
  })

  it("applyBatch fails with a classified ApplyError naming the destination table", async () => {
    const c = await connect()
    const target = {
      schema: "public",
      name: "t1",
      columns: [
        { name: "id", typeName: "integer" },
        { name: "name", typeName: "text" },
        { name: "ghost", typeName: "text" }
      ],
      primaryKey: ["id"],
      hasSid: false
    }
    const rel = relation("t1", ["id", "name", "ghost"], { key: ["id"] })
    const err = await applyBatch(c, target, [source().insert(rel, { id: "9", name: "n", ghost: "g" })]).catch(
      (e: unknown) => e
    )
    expect(err).toMatchObject({ name: "ApplyError", transient: false, sqlState: "42703" })
    expect((err as Error).message).toMatch(/^walferry: table public\.t1: column "ghost": 42703 undefined_column: /)
    expect(applyError(err)).toBe(err)
    const missingKey = await applyBatch(c, { ...target, columns: target.columns.slice(1), primaryKey: [] }, [
      source().insert(rel, { id: "9" })
    ]).catch((e: unknown) => e)
    expect(missingKey).toMatchObject({ transient: false })
    expect((missingKey as Error).message).toBe(
      'walferry: table public.t1: key column "id" is missing (source public.t1)'
    )
  })
})
