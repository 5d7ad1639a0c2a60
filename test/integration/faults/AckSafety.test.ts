/**
 * What walferry confirms to the source (pg_replication_slots.confirmed_flush_lsn), against a real process:
 * - never past what the destination committed: with the target table locked, source commits are not confirmed;
 * - an idle source, or one written only in unmapped tables, is confirmed up to its current WAL position;
 * - a permanent table error (NOT NULL column without default on the destination) stops that table with an error
 *   naming table, column and SQLSTATE, other tables keep flowing, and the failed change is never confirmed (its
 *   WAL is kept: once the destination is fixed, a restart delivers it).
 *
 * A transaction whose commit record starts at C is replayed after a restart iff C >= confirmed_flush_lsn, so
 * "not confirmed" means confirmed <= C. `pg_current_wal_insert_lsn()` taken inside the transaction just before
 * COMMIT is a lower bound of C, and the tests assert confirmed <= that bound.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import {
  formatLsn,
  lsnOf,
  sleep,
  slotInfo,
  startWalferry,
  stopAllWalferry,
  waitStreaming,
  type WalferryOptions,
  type WalferryProcess
} from "../../support/WalferryProcess.js"

const ACK_SLOT = "walferry_ackdb_a"
const PERM_SLOT = "walferry_permdb_a"
const STATUS_INTERVAL_MS = 300

describe("acknowledgement safety (walferry process, real Postgres)", () => {
  let source: TestPg
  let dest: TestPg
  let options: WalferryOptions
  let proc: WalferryProcess

  const lsn = async (db: string, fn = "pg_current_wal_lsn") =>
    lsnOf((await source.query<{ l: string }>(`select ${fn}()::text as l`, [], db))[0]!.l)
  const fmt = formatLsn
  const confirmed = async (slot: string) => (await slotInfo(source, slot))?.confirmed ?? 0n
  const count = async (table: string, where = "true") =>
    Number((await dest.query<{ n: string }>(`select count(*) as n from ${table} where ${where}`, [], "ackdest"))[0]!.n)

  const waitUntil = async (what: string, check: () => Promise<boolean>, timeoutMs = 20_000) => {
    const until = Date.now() + timeoutMs
    while (Date.now() < until) {
      if (await check().catch(() => false)) return
      await sleep(100)
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nwalferry output:\n${proc.output()}`)
  }

  /** runs `sql` in one transaction and returns pg_current_wal_insert_lsn() taken right before COMMIT */
  const commitBound = async (client: pg.Client, sql: string): Promise<bigint> => {
    await client.query("begin")
    await client.query(sql)
    const { rows } = await client.query<{ l: string }>("select pg_current_wal_insert_lsn()::text as l")
    await client.query("commit")
    return lsnOf(rows[0]!.l)
  }

  const connect = async (url: string) => {
    const c = new pg.Client({ connectionString: url })
    c.on("error", () => undefined)
    await c.connect()
    return c
  }

  beforeAll(async () => {
    const servers = await startTestPgs(2, { version: latestVersion() })
    source = servers[0]
    dest = servers[1]
    await Promise.all([source.createDatabase("ackdb"), source.createDatabase("permdb"), dest.createDatabase("ackdest")])
    await source.query(
      `create table t (id int primary key, v text);
       create table unmapped (id serial primary key, v text);`,
      [],
      "ackdb"
    )
    await source.query(
      `create table good (id int primary key, v text); create table bad (id int primary key, v text);`,
      [],
      "permdb"
    )
    await dest.query(
      `create table t (id int primary key, v text);
       create table good (id int primary key, v text);
       create table bad (id int primary key, v text, extra text not null);`,
      [],
      "ackdest"
    )
    options = {
      destination: dest.url("ackdest"),
      map: [
        { database: "ackdb", urls: [{ url: source.url("ackdb"), sid: "a" }], tables: { t: null } },
        { database: "permdb", urls: [{ url: source.url("permdb"), sid: "a" }], tables: { good: null, bad: null } }
      ],
      tuning: {
        writers: 4,
        batch_size: 5000,
        commit_interval_ms: 50,
        mailbox_capacity: 8192,
        status_interval_ms: STATUS_INTERVAL_MS
      }
    }
    proc = await startWalferry(options)
    await waitStreaming(proc)
  })

  afterAll(async () => {
    await stopAllWalferry()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("an idle source is confirmed up to its current WAL position", async () => {
    const startLsn = await confirmed(ACK_SLOT)
    await source.query("checkpoint", [], "ackdb") // a WAL record, so that the switch below is never a no-op
    await source.query("select pg_switch_wal()", [], "ackdb")
    const target = await lsn("ackdb")
    expect(target).toBeGreaterThan(startLsn)
    await waitUntil(
      `confirmed_flush_lsn of ${ACK_SLOT} >= ${fmt(target)} (idle)`,
      async () => (await confirmed(ACK_SLOT)) >= target,
      10_000
    )
    const src = (await proc.status()).sources.find((s) => s.database === "ackdb")!
    expect(lsnOf(src.confirmedLsn)).toBeGreaterThanOrEqual(target)
  })

  it("a source written only in unmapped tables is confirmed up to its current WAL position", async () => {
    const startLsn = await confirmed(ACK_SLOT)
    const client = await connect(source.url("ackdb"))
    try {
      for (let i = 0; i < 5; i++)
        await client.query("insert into unmapped (v) select 'x' || g from generate_series(1, 200) g")
    } finally {
      await client.end()
    }
    const target = await lsn("ackdb")
    expect(target).toBeGreaterThan(startLsn)
    await waitUntil(
      `confirmed_flush_lsn of ${ACK_SLOT} >= ${fmt(target)} (unmapped writes)`,
      async () => (await confirmed(ACK_SLOT)) >= target,
      10_000
    )
    expect(await dest.query("select to_regclass('unmapped') as r", [], "ackdest")).toEqual([{ r: null }])
  })

  it("confirmed_flush_lsn never passes what the destination committed (target table locked)", async () => {
    const lock = await connect(dest.url("ackdest"))
    const writer = await connect(source.url("ackdb"))
    let after = 0n
    const bounds: Array<bigint> = []
    try {
      await lock.query("begin")
      await lock.query("lock table t in access exclusive mode")
      const before = await lsn("ackdb")
      for (let i = 0; i < 5; i++) {
        bounds.push(
          await commitBound(
            writer,
            `insert into t select g, 'locked ' || g from generate_series(${i * 100 + 1}, ${(i + 1) * 100}) g`
          )
        )
      }
      after = await lsn("ackdb")
      expect(bounds[0]!).toBeGreaterThan(before)
      // several status intervals and keepalives: nothing of the blocked transactions may be confirmed
      let max = 0n
      const until = Date.now() + 4_000
      while (Date.now() < until) {
        const info = (await slotInfo(source, ACK_SLOT))!
        expect(info.active, "the slot stays in use (no restart while blocked)").toBe(true)
        if (info.confirmed > max) max = info.confirmed
        await sleep(100)
      }
      const why = `max confirmed ${fmt(max)}, first blocked commit >= ${fmt(bounds[0]!)}\n${proc.output()}`
      expect(max <= bounds[0]!, why).toBe(true)
      const status = await proc.status()
      const src = status.sources.find((s) => s.database === "ackdb")!
      expect(lsnOf(src.confirmedLsn) <= bounds[0]!, why).toBe(true)
      expect(lsnOf(src.receivedLsn) > bounds[0]!, `the changes were received: ${JSON.stringify(src)}`).toBe(true)
      // the lock holder can still read: nothing arrived
      expect((await lock.query("select count(*)::int as n from t")).rows[0].n).toBe(0)
    } finally {
      await lock.query("commit").catch(() => undefined)
      await lock.end()
      await writer.end()
    }
    await waitUntil("the 500 blocked rows to arrive", async () => (await count("t")) === 500, 30_000)
    expect(await dest.query("select count(*)::int as n, sum(id)::int as s from t", [], "ackdest")).toEqual([
      { n: 500, s: 125250 }
    ])
    await waitUntil(
      `confirmed_flush_lsn of ${ACK_SLOT} >= ${fmt(after)} after the release`,
      async () => (await confirmed(ACK_SLOT)) >= after,
      15_000
    )
  })

  it("a permanent table error stops only that table, names table, column and SQLSTATE, and keeps its WAL", async () => {
    const writer = await connect(source.url("permdb"))
    let badBound = 0n
    let beforeBad = 0n
    try {
      await writer.query("insert into good values (1, 'before')")
      await waitUntil("good row 1", async () => (await count("good")) === 1)
      beforeBad = await lsn("permdb")
      badBound = await commitBound(writer, "insert into bad values (1, 'no extra')")
      for (let i = 2; i <= 6; i++) await writer.query(`insert into good values (${i}, 'after')`)
    } finally {
      await writer.end()
    }
    // the other table keeps flowing
    await waitUntil("good rows 2..6 after the failure", async () => (await count("good")) === 6)
    await waitUntil("table bad reported stopped", async () =>
      (await proc.status()).tables.some((t) => t.target === "bad" && t.state === "stopped")
    )
    const status = await proc.status()
    const bad = status.tables.find((t) => t.target === "bad")!
    expect(bad.error, JSON.stringify(bad)).toMatch(/bad/)
    expect(bad.error, JSON.stringify(bad)).toMatch(/extra/)
    expect(bad.error, JSON.stringify(bad)).toMatch(/23502/)
    expect(status.tables.find((t) => t.target === "good")!.state).toBe("streaming")
    expect(status.tables.find((t) => t.target === "t")!.state).toBe("streaming")
    expect(await count("bad")).toBe(0)

    // more traffic and idle time (keepalives, switches): the failed change still is never confirmed
    await source.query("insert into good values (7, 'later')", [], "permdb")
    await source.query("checkpoint", [], "permdb")
    await source.query("select pg_switch_wal()", [], "permdb")
    await waitUntil("good row 7", async () => (await count("good")) === 7)
    await sleep(STATUS_INTERVAL_MS * 6)
    const info = (await slotInfo(source, PERM_SLOT))!
    const slot = JSON.stringify({ ...info, confirmed: fmt(info.confirmed), restart: fmt(info.restart) })
    const why = `slot ${slot}, failed commit >= ${fmt(badBound)}`
    expect(info.confirmed <= badBound, why).toBe(true)
    expect(info.restart <= badBound, `WAL of the failed change is kept: ${why}`).toBe(true)
    expect(beforeBad).toBeGreaterThan(0n)
    // the ackdb source is not held back by permdb's failure
    const ackTarget = await lsn("ackdb")
    await waitUntil(
      "ackdb still confirmed while permdb is capped",
      async () => (await confirmed(ACK_SLOT)) >= ackTarget,
      10_000
    )

    // a graceful stop keeps the cap; once the destination is fixed, a restart replays and delivers the change
    proc.kill("SIGTERM")
    expect((await proc.waitExit(40_000)).code).toBe(0)
    expect((await slotInfo(source, PERM_SLOT))!.confirmed <= badBound).toBe(true)
    await dest.query("alter table bad alter column extra set default 'fixed'", [], "ackdest")
    proc = await startWalferry(options)
    await waitStreaming(proc)
    await waitUntil("the failed row after the fix", async () => (await count("bad", "extra = 'fixed'")) === 1)
    expect(await dest.query("select id, v, extra from bad", [], "ackdest")).toEqual([
      { id: 1, v: "no extra", extra: "fixed" }
    ])
    expect(await count("good")).toBe(7)
    const end = await lsn("permdb")
    await waitUntil(
      `${PERM_SLOT} confirmed past the fixed change`,
      async () => (await confirmed(PERM_SLOT)) >= end,
      15_000
    )
  })
})
