/**
 * Graceful stop and pause of the real walferry process under a steady workload:
 * - SIGTERM: exit code 0 within shutdown_timeout_ms (+ slack), the slot is released, its confirmed_flush_lsn is
 *   exactly what the destination holds (every source transaction committed before it is there, none after
 *   it, positions in between), and after a restart everything written meanwhile arrives exactly once;
 * - POST /pause freezes the slot position and the destination while the source keeps writing; POST /resume
 *   delivers the backlog, nothing lost, nothing twice.
 *
 * `events` has no key (REPLICA IDENTITY FULL): a replayed insert would show up as a duplicate row. Its writer
 * records, per transaction k, B_k = pg_current_wal_insert_lsn() just before COMMIT (<= the commit LSN) and
 * E_k = the same right after (>= the end of the commit record). For a confirmed position C: E_k <= C means the
 * transaction is confirmed, so it must be on the destination; B_k >= C means it is not, so it must not be.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import {
  formatLsn,
  lsnOf,
  seededRandom,
  sleep,
  slotInfo,
  startWalferry,
  stopAllWalferry,
  tableDigest,
  testSeed,
  waitStreaming,
  type WalferryOptions,
  type WalferryProcess
} from "../../support/WalferryProcess.js"

const DB = "sd"
const SLOT = `walferry_${DB}_a`
const SHUTDOWN_TIMEOUT_MS = 10_000
const ROWS_PER_TXN = 20

interface EventTxn {
  readonly k: number
  readonly before: bigint
  readonly after: bigint
}

const connect = async (url: string) => {
  const c = new pg.Client({ connectionString: url })
  c.on("error", () => undefined)
  await c.connect()
  return c
}

/** a steady workload: one `events` writer recording commit bounds, two clients updating `acct` */
const startWorkload = (url: string, seed: number, txns: Array<EventTxn>, firstK: number) => {
  let stopped = false
  const errors: Array<string> = []
  const events = async () => {
    const c = await connect(url)
    try {
      for (let k = firstK; !stopped; k++) {
        await c.query("begin")
        await c.query(
          `insert into events select $1, g, md5(($1 * 1000 + g)::text) from generate_series(1, ${ROWS_PER_TXN}) g`,
          [k]
        )
        const b = (await c.query<{ l: string }>("select pg_current_wal_insert_lsn()::text as l")).rows[0]!.l
        await c.query("commit")
        const a = (await c.query<{ l: string }>("select pg_current_wal_insert_lsn()::text as l")).rows[0]!.l
        txns.push({ k, before: lsnOf(b), after: lsnOf(a) })
        await sleep(3)
      }
    } catch (e) {
      errors.push(String(e))
    } finally {
      await c.end().catch(() => undefined)
    }
  }
  const acct = async (i: number) => {
    const r = seededRandom(seed + i)
    const c = await connect(url)
    try {
      while (!stopped) {
        const id = 1 + Math.floor(r() * 500)
        const x = r()
        if (x < 0.5) await c.query("update acct set v = v + 1 where id = $1", [id])
        else if (x < 0.8)
          await c.query("insert into acct values ($1, 0) on conflict (id) do update set v = acct.v - 1", [id])
        else await c.query("delete from acct where id = $1", [id])
        await sleep(2)
      }
    } catch (e) {
      errors.push(String(e))
    } finally {
      await c.end().catch(() => undefined)
    }
  }
  const loops = [events(), acct(1), acct(2)]
  return {
    errors,
    stop: async () => {
      stopped = true
      await Promise.all(loops)
      expect(errors, "workload errors").toEqual([])
    }
  }
}

describe("graceful shutdown and pause (walferry process, real Postgres)", () => {
  let source: TestPg
  let dest: TestPg
  let options: WalferryOptions
  let proc: WalferryProcess
  const txns: Array<EventTxn> = []
  const seed = testSeed()

  const digests = (server: TestPg) =>
    Promise.all([tableDigest(server, DB, "events", "k, i"), tableDigest(server, DB, "acct", "id")])

  const waitUntil = async (what: string, check: () => Promise<boolean>, timeoutMs = 20_000) => {
    const until = Date.now() + timeoutMs
    while (Date.now() < until) {
      if (await check().catch(() => false)) return
      await sleep(100)
    }
    throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}\nwalferry output:\n${proc.output()}`)
  }

  /** the destination holds exactly the `events` transactions the slot confirmed, and positions lie below it */
  const assertMatchesConfirmed = async (confirmed: bigint, context: string) => {
    const rows = await dest.query<{ k: number; n: number }>(
      "select k, count(*)::int as n from events group by k",
      [],
      DB
    )
    const present = new Map(rows.map((r) => [r.k, r.n]))
    const hex = (l: bigint | undefined) => (l === undefined ? "?" : formatLsn(l))
    const bounds = (k: number) => {
      const t = txns.find((x) => x.k === k)
      return `commit in [${hex(t?.before)}, ${hex(t?.after)}]`
    }
    const missing = txns.filter((t) => t.after <= confirmed && present.get(t.k) !== ROWS_PER_TXN).map((t) => t.k)
    const extra = txns
      .filter((t) => t.before >= confirmed && present.has(t.k))
      .map((t) => `txn ${t.k}: ${present.get(t.k)} rows (${bounds(t.k)})`)
    const positions = await dest.query<{ target: string; lsn: string }>(
      "select target, lsn::text as lsn, seq from walferry.positions where source = $1",
      [`${DB}/a`],
      DB
    )
    const partial = [...present]
      .filter(([, n]) => n !== ROWS_PER_TXN)
      .map(([k, n]) => `txn ${k}: ${n} of ${ROWS_PER_TXN} rows (${bounds(k)})`)
    const why =
      `${context}: confirmed_flush_lsn ${hex(confirmed)}, destination positions ${JSON.stringify(positions)}; ` +
      `${txns.length} transactions recorded, ${present.size} on the destination\n${proc.output()}`
    expect({ missing, extra, partial }, why).toEqual({ missing: [], extra: [], partial: [] })
    const lastConfirmed = txns.filter((t) => t.after <= confirmed).at(-1)
    expect(lastConfirmed, `some events transaction was confirmed; ${why}`).toBeDefined()
    const events = positions.find((p) => p.target === "events")
    expect(events, `positions: ${JSON.stringify(positions)}`).toBeDefined()
    for (const p of positions)
      expect(lsnOf(p.lsn) < confirmed, `position ${JSON.stringify(p)} below confirmed; ${why}`).toBe(true)
    expect(
      lsnOf(events!.lsn) >= lastConfirmed!.before,
      `events position covers the last confirmed transaction; ${why}`
    ).toBe(true)
  }

  const assertConverged = async (context: string) => {
    const expected = await digests(source)
    let got: Array<string> = []
    const until = Date.now() + 60_000
    while (Date.now() < until) {
      got = await digests(dest)
      if (JSON.stringify(got) === JSON.stringify(expected)) break
      await sleep(300)
    }
    expect(got, `${context} (seed ${seed})\n${proc.output()}`).toEqual(expected)
  }

  beforeAll(async () => {
    const servers = await startTestPgs(2, { version: latestVersion() })
    source = servers[0]
    dest = servers[1]
    await Promise.all([source.createDatabase(DB), dest.createDatabase(DB)])
    const ddl = `create table events (k int, i int, note text);
      alter table events replica identity full;
      create table acct (id int primary key, v int not null);`
    await source.query(`${ddl} insert into acct select g, 0 from generate_series(1, 300) g;`, [], DB)
    await dest.query(ddl, [], DB)
    options = {
      destination: dest.url(DB),
      map: [{ database: DB, urls: [{ url: source.url(DB), sid: "a" }], tables: { events: null, acct: null } }],
      tuning: {
        writers: 4,
        batch_size: 5000,
        commit_interval_ms: 200,
        mailbox_capacity: 8192,
        status_interval_ms: 1000,
        shutdown_timeout_ms: SHUTDOWN_TIMEOUT_MS
      }
    }
    proc = await startWalferry(options)
    await waitStreaming(proc)
  })

  afterAll(async () => {
    await stopAllWalferry()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("SIGTERM: exit 0, confirms exactly what the destination has; a restart delivers the rest once", async () => {
    let workload = startWorkload(source.url(DB), seed, txns, 1)
    let stopped = false
    try {
      await sleep(3_000)
      const sent = Date.now()
      proc.kill("SIGTERM")
      const exit = await proc.waitExit(SHUTDOWN_TIMEOUT_MS + 5_000)
      const took = Date.now() - sent
      expect(exit, proc.output()).toEqual({ code: 0, signal: null })
      expect(took).toBeLessThan(SHUTDOWN_TIMEOUT_MS + 5_000)
      await waitUntil("the slot to be released", async () => (await slotInfo(source, SLOT))?.active === false, 10_000)
      await workload.stop()
      stopped = true
      const { confirmed } = (await slotInfo(source, SLOT))!
      await assertMatchesConfirmed(confirmed, `after SIGTERM (exit in ${took} ms)`)
      // written while walferry is down
      workload = startWorkload(source.url(DB), seed + 100, txns, txns.length + 1)
      stopped = false
      await sleep(1_500)
      proc = await startWalferry(options)
      await waitStreaming(proc)
      await sleep(1_500)
    } finally {
      if (!stopped) await workload.stop()
    }
    await assertConverged("after the restart")
  })

  it("/pause freezes the slot and the destination while the source writes; /resume delivers it", async () => {
    if (proc.exited()) {
      await proc.stop()
      proc = await startWalferry(options)
    }
    await waitStreaming(proc)
    const workload = startWorkload(source.url(DB), seed + 200, txns, txns.length + 1)
    let stopped = false
    try {
      await sleep(1_500)
      expect(await proc.post("/pause", { reason: "test" })).toBe(200)
      await waitUntil("paused", async () => {
        const s = await proc.status()
        return s.paused && s.sources.every((x) => x.state === "paused")
      })
      await waitUntil(
        "the slot to be released while paused",
        async () => (await slotInfo(source, SLOT))?.active === false,
        15_000
      )
      const c1 = (await slotInfo(source, SLOT))!.confirmed
      const d1 = await digests(dest)
      const destRows1 = (await dest.query<{ n: number }>("select count(*)::int as n from events", [], DB))[0]!.n
      const [{ n: n1 }] = await source.query<{ n: number }>("select count(*)::int as n from events", [], DB)
      const until = Date.now() + 3_000
      while (Date.now() < until) {
        expect((await slotInfo(source, SLOT))!.confirmed, "confirmed_flush_lsn frozen while paused").toBe(c1)
        await sleep(200)
      }
      const destRows2 = (await dest.query<{ n: number }>("select count(*)::int as n from events", [], DB))[0]!.n
      expect(
        await digests(dest),
        `nothing arrives while paused (events rows on the destination: ${destRows1} once paused and the slot ` +
          `released, ${destRows2} 3 s later; slot confirmed ${formatLsn(c1)} unchanged)\n${proc.output()}`
      ).toEqual(d1)
      const [{ n: n2 }] = await source.query<{ n: number }>("select count(*)::int as n from events", [], DB)
      expect(n2, "the source kept writing").toBeGreaterThan(n1)
      expect((await slotInfo(source, SLOT))!.confirmed).toBe(c1)
      await assertMatchesConfirmed(c1, "while paused")
      expect(await proc.post("/resume")).toBe(200)
      await waitStreaming(proc)
      await sleep(1_500)
      await workload.stop()
      stopped = true
      await assertConverged("after /resume")
      const end = lsnOf((await source.query<{ l: string }>("select pg_current_wal_lsn()::text as l", [], DB))[0]!.l)
      await waitUntil(
        "confirmed past the backlog",
        async () => ((await slotInfo(source, SLOT))?.confirmed ?? 0n) >= end
      )
    } finally {
      if (!stopped) await workload.stop().catch(() => undefined)
    }
  })
})
