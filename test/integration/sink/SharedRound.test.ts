/**
 * SharedRound on real Postgres: statements joined in one turn of the event loop share one connection and one
 * commit; a row lock held on one table's row by another session holds the others up for the round's lock
 * timeout at most (they then commit alone while the locked one waits for its lock, and rounds pause); a
 * statement that fails in a round fails alone with its own error while the others commit; a cancelled
 * statement that has not been sent never runs.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { SharedRound } from "../../../src/sink/SharedRound.js"
import type { Statement } from "../../../src/sink/OneSync.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"

let server: TestPg
let url: string
let admin: pg.Client
let pool: pg.Pool
let checkouts = 0

beforeAll(async () => {
  server = await startTestPg({ version: latestVersion() })
  url = await server.createDatabase("rounds")
  admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query(`create table t1 (id int primary key, v int); create table "T 2" (id int primary key, v int);
    create table t3 (id int primary key, v int check (v >= 0)); insert into t1 values (1, 0); insert into "T 2" values (1, 0); insert into t3 values (1, 0)`)
  pool = new pg.Pool({ connectionString: url, max: 4 })
  // pool.end() resolves before its clients' sockets close: the server's stop (57P01) may still reach one
  pool.on("error", () => undefined)
  const connect = pool.connect.bind(pool) as () => Promise<pg.PoolClient>
  ;(pool as unknown as { connect: () => Promise<pg.PoolClient> }).connect = () => {
    checkouts++
    return connect()
  }
})
afterAll(async () => {
  await pool?.end().catch(() => undefined)
  await admin?.end().catch(() => undefined)
  await server?.stop()
})

const set = (table: string, v: number): Statement => ({
  text: `update ${table} set v = $1 where id = 1 returning v`,
  name: `set_${table.replace(/\W/g, "_")}`,
  values: [v]
})

/** joins every statement in this turn; each outcome as its row or its error's SQLSTATE */
const together = (round: SharedRound, statements: ReadonlyArray<Statement>) =>
  statements.map(
    (s) =>
      new Promise<unknown>((resolve) => {
        round.join(s, resolve, (e: unknown) => resolve({ failed: (e as { code?: string }).code }))
      })
  )

/** runs `f` while another session holds row 1 of `table` locked, until `f` calls `release` */
const withRowLocked = async (table: string, f: (release: () => Promise<unknown>) => Promise<void>) => {
  const locker = new pg.Client({ connectionString: url })
  await locker.connect()
  try {
    await locker.query(`begin; select * from ${table} where id = 1 for update`)
    await f(() => locker.query("commit"))
  } finally {
    await locker.end()
  }
}

const values = async () =>
  (await admin.query(`select (select v from t1) a, (select v from "T 2") b, (select v from t3) c`)).rows[0]

describe("SharedRound", () => {
  it("sends the statements of one turn as one round on one connection", async () => {
    const round = new SharedRound(pool)
    checkouts = 0
    const out = await Promise.all(together(round, [set("t1", 1), set(`"T 2"`, 2), set("t3", 3)]))
    expect(out).toEqual([{ v: 1 }, { v: 2 }, { v: 3 }])
    expect(checkouts).toBe(1)
    expect(await values()).toEqual({ a: 1, b: 2, c: 3 })
  })

  it("a statement failing in a round fails alone; the others commit", async () => {
    const round = new SharedRound(pool)
    checkouts = 0
    const out = await Promise.all(together(round, [set("t1", 4), set("t3", -1), set(`"T 2"`, 5)]))
    expect(out).toEqual([{ v: 4 }, { failed: "23514" }, { v: 5 }])
    // the round, then each statement alone
    expect(checkouts).toBe(4)
    expect(await values()).toEqual({ a: 4, b: 5, c: 3 })
  })

  it("a lock on one table holds the others up for the lock timeout at most", async () => {
    const round = new SharedRound(pool, { maxRows: 32, lockTimeoutMs: 100, pauseMs: 60_000, maxStatements: 16 })
    await withRowLocked("t1", async (release) => {
      const started = performance.now()
      const [locked, other] = together(round, [set("t1", 6), set(`"T 2"`, 7)])
      expect(await other).toEqual({ v: 7 })
      expect(performance.now() - started).toBeLessThan(3_000)
      const first = await Promise.race([locked, new Promise((r) => setTimeout(() => r("waiting"), 300))])
      expect(first).toBe("waiting")
      // rounds paused: two statements of one turn now run alone
      checkouts = 0
      const paused = await Promise.all(together(round, [set(`"T 2"`, 8), set("t3", 9)]))
      expect(paused).toEqual([{ v: 8 }, { v: 9 }])
      expect(checkouts).toBe(2)
      await release()
      expect(await locked).toEqual({ v: 6 })
      expect(await values()).toEqual({ a: 6, b: 8, c: 9 })
    })
  })

  it("cancelling a statement of a round in flight cancels the round: the others commit alone, it never does", async () => {
    const round = new SharedRound(pool, { maxRows: 32, lockTimeoutMs: 30_000, pauseMs: 0, maxStatements: 16 })
    await withRowLocked("t3", async (release) => {
      const settled: Array<unknown> = []
      const member = round.join(
        set("t3", 50),
        (r) => settled.push(r),
        (e) => settled.push(e)
      )
      const [other] = together(round, [set("t1", 11)])
      await new Promise((r) => setTimeout(r, 300))
      const cancelled = performance.now()
      round.cancel(member)
      expect(await other).toEqual({ v: 11 })
      // by the cancel, not by the round's lock timeout
      expect(performance.now() - cancelled).toBeLessThan(10_000)
      await release()
      await new Promise((r) => setTimeout(r, 300))
      expect(await values()).toEqual({ a: 11, b: 8, c: 9 })
    })
  })

  it("a statement cancelled before its round is sent never runs", async () => {
    const round = new SharedRound(pool)
    const settled: Array<unknown> = []
    const member = round.join(
      set("t1", 100),
      (r) => settled.push(r),
      (e) => settled.push(e)
    )
    const [other] = together(round, [set(`"T 2"`, 10)])
    round.cancel(member)
    expect(await other).toEqual({ v: 10 })
    await new Promise((r) => setTimeout(r, 200))
    expect(settled).toEqual([])
    expect(await values()).toEqual({ a: 11, b: 10, c: 9 })
  })
})
