/**
 * Source failover of the real walferry process. The source URL names a primary and its physical standby
 * (`host1:p1,host2:p2 ... target_session_attrs=read-write`); a mixed workload writes a clone table (inserts,
 * upserts, updates, deletes, key changes) and a history table (each transaction bumps one row's version
 * counter `v`, so the expected versions of a key are exactly 0..v) while the primary is killed (-9) and the
 * standby promoted.
 * - 17: failover slot synchronised to the standby: walferry goes on from the synchronised slot on the new
 *   primary. No table is copied again (sync records untouched, the slot is still the synced one), the clone
 *   equals the new primary, every key has exactly one version per change. Prints promotion → first change.
 * - 16: the slot is lost: with slots.on_lost stop the source stops with SlotLost naming slot and tables and
 *   no slot is created; with on_lost resync the slot is recreated and the tables copied again, equal after.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { startPgServer, type PgServer, type PgVersion } from "../../support/PgServer.js"
import { primaryStandbySettings, startStandby, type Standby } from "../../../src/embedded/Standby.js"
import {
  seededRandom,
  sleep,
  startWalferry,
  stopAllWalferry,
  tableDigest,
  testSeed,
  waitStreaming,
  type WalferryProcess
} from "../../support/WalferryProcess.js"

const SOURCE_DDL = `
  create table c_t (id int primary key, v int not null, note text);
  create table h_t (id int primary key, v int not null);
  insert into c_t select g, g % 97, 'seed ' || g from generate_series(1, 2000) g;
  insert into h_t select g, 0 from generate_series(1, 300) g;`
const HISTORY = `kvsz_start timestamptz not null default '1900-01-01', kvsz_end timestamptz not null default '9999-01-01',
  kvsz_deleted boolean not null default false, kvsz_lsn numeric`
const DEST_DDL = `
  create table c_t (id int primary key, v int not null, note text);
  create table h_t (kvsz_id bigserial, id int, v int not null, ${HISTORY}, primary key (id, kvsz_id));`
const TUNING = { batch_size: 500, commit_interval_ms: 50, status_interval_ms: 200, shutdown_timeout_ms: 10_000 }
const SLOT = (db: string) => `walferry_${db}_a`

const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1))

/** one clone statement and one history bump per transaction, on whichever server `url()` names now */
const startWorkload = (url: () => string, seed: number, clients = 3) => {
  const stats = { committed: 0, errors: 0 }
  let stopped = false
  const loop = async (i: number) => {
    const r = seededRandom(seed * 31 + i)
    let client: pg.Client | undefined
    while (!stopped) {
      try {
        if (!client) {
          const c = new pg.Client({ connectionString: url() })
          c.on("error", () => undefined)
          client = c
          await c.connect()
        }
        const k = r()
        const id = int(r, 1, 2600)
        const clone: [string, Array<unknown>] =
          k < 0.3
            ? [
                "insert into c_t values ($1, $2, $3) on conflict (id) do update set v = excluded.v",
                [id, int(r, 0, 999), `n${id}`]
              ]
            : k < 0.6
              ? ["update c_t set v = v + 1, note = $2 where id = $1", [id, `u${int(r, 0, 1e6)}`]]
              : k < 0.8
                ? ["delete from c_t where id = $1", [id]]
                : [
                    "update c_t set id = $2 where id = $1 and not exists (select 1 from c_t where id = $2)",
                    [id, int(r, 1, 2600)]
                  ]
        await client.query("begin")
        await client.query(...clone)
        await client.query("update h_t set v = v + 1 where id = $1", [int(r, 1, 300)])
        if (r() < 0.1) await client.query("insert into h_t values ($1, 0) on conflict do nothing", [int(r, 301, 400)])
        await client.query("commit")
        stats.committed++
      } catch {
        stats.errors++
        await client?.end().catch(() => undefined)
        client = undefined
        await sleep(100)
      }
      await sleep(r() * 5)
    }
    await client?.end().catch(() => undefined)
  }
  const loops = Array.from({ length: clients }, (_, i) => loop(i))
  return {
    stats,
    stop: async () => {
      stopped = true
      await Promise.all(loops)
    }
  }
}

/** clone digest, and per history key the stored versions (must be 0..v of the source row, each once) */
const compare = async (source: PgServer, dest: PgServer, db: string) => {
  const clone = [await tableDigest(source, db, "c_t", "id"), await tableDigest(dest, db, "c_t", "id")]
  const want = await source.query<{ line: string }>(
    "select string_agg(id || ':' || v, ',' order by id) as line from h_t",
    [],
    db
  )
  const have = await dest.query<{ line: string; bad: number; open: string }>(
    `select string_agg(id || ':' || n, ',' order by id) filter (where ok) as line, count(*) filter (where not ok)::int as bad,
       string_agg(id || ':' || open_v, ',' order by id) as open
       from (select id, count(*) - 1 as n, count(distinct v) = count(*) and min(v) = 0 and max(v) = count(*) - 1 as ok,
               max(v) filter (where kvsz_end >= '9998-12-31') as open_v
               from h_t group by id) k`,
    [],
    db
  )
  return { clone, want: want[0]!.line, have: have[0]!.line, bad: have[0]!.bad, open: have[0]!.open }
}

/** waits until the clone and the open history versions (and with `exact` every version) match the source */
const waitEqual = async (source: PgServer, dest: PgServer, db: string, proc: WalferryProcess, exact: boolean) => {
  const until = Date.now() + 60_000
  let c = await compare(source, dest, db)
  while (Date.now() < until && !(c.clone[0] === c.clone[1] && (!exact || c.want === c.have) && c.want === c.open)) {
    if (proc.exited()) break
    await sleep(300)
    c = await compare(source, dest, db)
  }
  return c
}

const multiHost = (a: PgServer, b: PgServer, db: string) =>
  `postgres://postgres@127.0.0.1:${a.port},127.0.0.1:${b.port}/${db}?target_session_attrs=read-write`

describe("source failover (walferry process, embedded primary + physical standby)", () => {
  const servers: Array<PgServer> = []
  let dest: PgServer

  beforeAll(async () => {
    dest = await startPgServer({ version: 17 })
    servers.push(dest)
  })

  afterAll(async () => {
    await stopAllWalferry()
    await Promise.all(servers.map((s) => s.stop()))
  })

  /** primary with the tables, its standby, the destination database */
  const pair = async (version: PgVersion, db: string) => {
    const primary = await startPgServer({ version, settings: primaryStandbySettings(version) })
    servers.push(primary)
    await primary.createDatabase(db)
    await primary.query(SOURCE_DDL, [], db)
    const standby: Standby = await startStandby(primary)
    servers.push(standby)
    await dest.createDatabase(db)
    await dest.query(DEST_DDL, [], db)
    const walferry = (extra: Record<string, unknown>) =>
      startWalferry({
        destination: dest.url(db),
        map: [
          {
            database: db,
            urls: [{ url: multiHost(primary, standby, db), sid: "a" }],
            tables: { c_t: null, h_t: { type: "history" } }
          }
        ],
        tuning: TUNING,
        extra
      })
    return { primary, standby, walferry }
  }

  const syncRecords = (db: string) =>
    dest.query<{ line: string }>(
      "select target || ' ' || state || ' ' || started_at || ' ' || finished_at as line from walferry.sync_tables order by 1",
      [],
      db
    )

  it("17: continues from the synchronised failover slot on the promoted standby, no re-copy, nothing lost or doubled", async () => {
    const seed = testSeed()
    const db = "fo17"
    const { primary, standby, walferry } = await pair(17, db)
    const proc = await walferry({ slots: { failover: "on" } })
    await waitStreaming(proc)
    let current: PgServer = primary
    // the standby's copy of the slot becomes usable once the primary slot's catalog_xmin (moved by a running-xacts
    // record and an acked write) passed the standby's own; under a continuous write load that may never happen
    const slotReady = Date.now()
    let synced: { temporary: boolean; synced: boolean } | undefined
    while (Date.now() - slotReady < 45_000) {
      ;[synced] = await standby.query<{ temporary: boolean; synced: boolean }>(
        "select temporary, synced from pg_replication_slots where slot_name = $1",
        [SLOT(db)]
      )
      if (synced?.synced === true && !synced.temporary) break
      await primary.query("select pg_log_standby_snapshot()")
      await primary.query("insert into c_t values (-2, 0, 'sync') on conflict (id) do update set v = c_t.v + 1", [], db)
      await sleep(250)
    }
    const where = async () =>
      JSON.stringify(await primary.query("select * from pg_replication_slots")) +
      `\nstandby log: ${standby.log?.()}\nprimary log: ${primary.log?.()}\n${proc.output()}`
    expect(synced, `slot never synchronised to the standby: ${await where()}`).toEqual({
      temporary: false,
      synced: true
    })
    console.log(`source failover 17: failover slot usable on the standby after ${Date.now() - slotReady} ms`)
    const workload = startWorkload(() => current.url(db), seed)
    const before = await syncRecords(db)
    expect(before.map((r) => r.line.split(" ").slice(0, 2).join(" "))).toEqual(["c_t done", "h_t done"])
    await sleep(3_000)

    const killed = Date.now()
    await primary.halt("SIGKILL")
    await standby.promote()
    const promoted = Date.now()
    console.log(`source failover 17: kill -9 to promoted ${promoted - killed} ms`)
    current = standby
    await standby.query("insert into c_t values (-1, 0, 'first after promotion')", [], db)
    while (Date.now() - promoted < 60_000) {
      if ((await dest.query("select 1 from c_t where id = -1", [], db)).length > 0) break
      await sleep(20)
    }
    const firstApplied = Date.now() - promoted
    await sleep(3_000)
    await workload.stop()

    const c = await waitEqual(standby, dest, db, proc, true)
    const context = `seed ${seed}; workload ${JSON.stringify(workload.stats)}\n${proc.output()}`
    const events = proc
      .output()
      .split("\n")
      .filter((l) => /source failed|message=streaming/.test(l))
      .map(
        (l) =>
          `${Date.parse(/timestamp=(\S+)/.exec(l)?.[1] ?? "") - promoted} ms ${/message=("[^"]*"|\S+)/.exec(l)?.[1]}`
      )
    console.log(
      `source failover 17: promotion → first new change applied ${firstApplied} ms; ${workload.stats.committed} ` +
        `transactions; walferry events relative to the promotion:\n  ${events.join("\n  ")}`
    )
    expect(c.clone[1], context).toBe(c.clone[0])
    expect(c.bad, `history keys whose versions are not exactly 0..v: ${context}`).toBe(0)
    expect(c.have, context).toBe(c.want)
    expect(c.open, context).toBe(c.want)
    expect(await syncRecords(db), `a table was copied again: ${context}`).toEqual(before)
    const [slot] = await standby.query("select synced, failover from pg_replication_slots where slot_name = $1", [
      SLOT(db)
    ])
    expect(slot, "the slot on the new primary is the synchronised one, not a new one").toEqual({
      synced: true,
      failover: true
    })
    expect(firstApplied).toBeLessThan(60_000)
    const status = await proc.status()
    expect(status.sources.map((s) => s.state)).toEqual(["streaming"])
    await proc.stop()
  })

  it("16: a promotion loses the slot: SlotLost names it and the tables (on_lost stop), on_lost resync copies again", async () => {
    const seed = testSeed()
    const db = "fo16"
    const { primary, standby, walferry } = await pair(16, db)
    let proc = await walferry({})
    await waitStreaming(proc)
    let current: PgServer = primary
    const workload = startWorkload(() => current.url(db), seed, 2)
    await sleep(2_000)
    await standby.caughtUp(primary)
    await primary.halt("SIGKILL")
    await standby.promote()
    current = standby
    await sleep(1_000)

    const until = Date.now() + 60_000
    let source = (await proc.status()).sources[0]
    while (Date.now() < until && source?.state !== "stopped") {
      await sleep(200)
      source = (await proc.status()).sources[0]
    }
    expect(source?.state, proc.output()).toBe("stopped")
    expect(source?.error).toContain(`replication slot "${SLOT(db)}" is gone`)
    expect(source?.error).toContain("tables c_t, h_t were synced")
    expect(proc.output()).toMatch(/level=ERROR .*walferry_fo16_a.* is gone, but tables c_t, h_t were synced/)
    expect(await standby.query("select slot_name from pg_replication_slots where slot_type = 'logical'")).toEqual([])
    await proc.stop()

    proc = await walferry({ slots: { on_lost: "resync" } })
    await waitStreaming(proc)
    await sleep(1_000)
    await workload.stop()
    const c = await waitEqual(standby, dest, db, proc, false)
    const context = `seed ${seed}; workload ${JSON.stringify(workload.stats)}\n${proc.output()}`
    expect(c.clone[1], context).toBe(c.clone[0])
    expect(c.open, `open history versions after the resync: ${context}`).toBe(c.want)
    expect(proc.output()).toContain("slots.on_lost: resync")
    await proc.stop()
  })
})
