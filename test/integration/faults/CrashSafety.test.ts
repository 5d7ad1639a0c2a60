/**
 * Crash safety of the real walferry process: a mixed insert/update/delete workload (concurrent clients, random
 * keys, key changes) on a PK table, a keyless REPLICA IDENTITY FULL table and a composite-key table, while
 * (1) the walferry process is SIGKILLed at random points and restarted, (2) the destination server restarts,
 * (3) the source server restarts. Afterwards source and destination must be identical (count + md5 of the
 * ordered rows). The keyless table catches replays that positions should have skipped (duplicates); lost
 * changes (a confirmed position past what the destination committed) show up in every table.
 * Replay a failure with WALFERRY_TEST_SEED=<seed printed in the message>.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import {
  lsnOf,
  seededRandom,
  sleep,
  slotInfo,
  startWalferry,
  stopAllWalferry,
  tableDigest,
  testSeed,
  waitStreaming,
  type WalferryProcess
} from "../../support/WalferryProcess.js"

const DDL = `
  create table pk_t (id int primary key, v int not null, note text);
  create table ck_t (a int, b int, v int, note text, primary key (a, b));
  create table rif_t (id int, v int, tag bigint);
  alter table rif_t replica identity full;`

const SEED = `
  create sequence rif_tag;
  insert into pk_t select g, g % 97, 'seed ' || g from generate_series(1, 1000) g;
  insert into ck_t select a, b, a * b, 'seed' from generate_series(1, 20) a, generate_series(1, 50) b;
  insert into rif_t select g % 300, g, nextval('rif_tag') from generate_series(1, 500) g;`

const TABLES = [
  { table: "pk_t", order: "id" },
  { table: "ck_t", order: "a, b" },
  { table: "rif_t", order: "id, v, tag" }
] as const

const TUNING = {
  writers: 4,
  batch_size: 1000,
  commit_interval_ms: 50,
  mailbox_capacity: 8192,
  status_interval_ms: 200,
  shutdown_timeout_ms: 10_000
}

const WORKLOAD_MS = 15_000
const CLIENTS = 4

type Rand = () => number

const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1))

/** one random statement of the mixed workload */
const randomOp = (r: Rand): [string, Array<unknown>] => {
  const k = r()
  const note = `n${int(r, 0, 1e6)}`
  if (k < 0.14) {
    return [
      "insert into pk_t values ($1, $2, $3) on conflict (id) do update set v = excluded.v, note = excluded.note",
      [int(r, 1, 2000), int(r, 0, 1000), note]
    ]
  }
  if (k < 0.26) return ["update pk_t set v = v + 1, note = $2 where id = $1", [int(r, 1, 2000), note]]
  if (k < 0.3) return ["update pk_t set v = (v * 7) % 1000 where id between $1 and $1 + 15", [int(r, 1, 2000)]]
  if (k < 0.38) return ["delete from pk_t where id = $1", [int(r, 1, 2000)]]
  if (k < 0.44) {
    return [
      "update pk_t set id = $2 where id = $1 and not exists (select 1 from pk_t where id = $2)",
      [int(r, 1, 2000), int(r, 1, 2000)]
    ]
  }
  if (k < 0.52) {
    return [
      "insert into ck_t values ($1, $2, $3, $4) on conflict (a, b) do update set v = excluded.v",
      [int(r, 1, 30), int(r, 1, 60), int(r, 0, 1000), note]
    ]
  }
  if (k < 0.6)
    return ["update ck_t set v = v + 3, note = $3 where a = $1 and b = $2", [int(r, 1, 30), int(r, 1, 60), note]]
  if (k < 0.65) return ["delete from ck_t where a = $1 and b = $2", [int(r, 1, 30), int(r, 1, 60)]]
  if (k < 0.71) {
    return [
      `update ck_t set a = $3, b = $4 where a = $1 and b = $2
         and not exists (select 1 from ck_t where a = $3 and b = $4)`,
      [int(r, 1, 30), int(r, 1, 60), int(r, 1, 30), int(r, 1, 60)]
    ]
  }
  if (k < 0.8) return ["insert into rif_t values ($1, $2, nextval('rif_tag'))", [int(r, 0, 400), int(r, 0, 1000)]]
  if (k < 0.88)
    return ["update rif_t set v = $2, tag = nextval('rif_tag') where id = $1", [int(r, 0, 400), int(r, 0, 1000)]]
  if (k < 0.93)
    return ["update rif_t set id = $2, tag = nextval('rif_tag') where id = $1", [int(r, 0, 400), int(r, 0, 400)]]
  return ["delete from rif_t where id = $1", [int(r, 0, 400)]]
}

interface WorkloadStats {
  committed: number
  rolledBack: number
  errors: number
  reconnects: number
}

/** CLIENTS concurrent loops of small random transactions; survives a source restart by reconnecting */
const startWorkload = (url: string, seed: number) => {
  const stats: WorkloadStats = { committed: 0, rolledBack: 0, errors: 0, reconnects: 0 }
  let stopped = false
  const loop = async (i: number) => {
    const r = seededRandom(seed * 31 + i)
    let client: pg.Client | undefined
    while (!stopped) {
      try {
        if (!client) {
          const c = new pg.Client({ connectionString: url })
          c.on("error", () => undefined)
          await c.connect()
          client = c
        }
        await client.query("begin")
        const n = int(r, 1, 5)
        for (let j = 0; j < n; j++) await client.query(...randomOp(r))
        if (r() < 0.05) {
          await client.query("rollback")
          stats.rolledBack++
        } else {
          await client.query("commit")
          stats.committed++
        }
      } catch {
        stats.errors++
        const c = client
        const ok = c
          ? await c.query("rollback").then(
              () => true,
              () => false
            )
          : false
        if (!ok) {
          client = undefined
          await c?.end().catch(() => undefined)
          stats.reconnects++
          await sleep(200)
        }
      }
      await sleep(r() * 8)
    }
    await client?.end().catch(() => undefined)
  }
  const loops = Array.from({ length: CLIENTS }, (_, i) => loop(i))
  return {
    stats,
    stop: async () => {
      stopped = true
      await Promise.all(loops)
      return stats
    }
  }
}

describe("crash safety (walferry process, real Postgres)", () => {
  let source: TestPg
  let dest: TestPg

  beforeAll(async () => {
    const servers = await startTestPgs(2, { version: latestVersion() })
    source = servers[0]
    dest = servers[1]
  })

  afterAll(async () => {
    await stopAllWalferry()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  /** a fresh source database + destination database with the three tables, seeded on the source */
  const prepare = async (name: string) => {
    await source.createDatabase(name)
    await dest.createDatabase(name)
    await source.query(DDL + SEED, [], name)
    await dest.query(DDL, [], name)
    return {
      start: () =>
        startWalferry({
          destination: dest.url(name),
          map: [
            {
              database: name,
              urls: [{ url: source.url(name), sid: "a" }],
              tables: { pk_t: null, ck_t: null, rif_t: null }
            }
          ],
          tuning: TUNING
        }),
      slot: `walferry_${name}_a`
    }
  }

  const digests = (server: TestPg, db: string) =>
    Promise.all(TABLES.map((t) => tableDigest(server, db, t.table, t.order)))

  /** waits until the destination equals the source, then asserts it and that the slot confirms the end */
  const assertConverged = async (db: string, proc: WalferryProcess, slot: string, context: string) => {
    const expected = await digests(source, db)
    const [end] = await source.query<{ l: string }>("select pg_current_wal_lsn()::text as l", [], db)
    const until = Date.now() + 90_000
    let got: Array<string> = []
    while (Date.now() < until) {
      got = await digests(dest, db).catch(() => [])
      if (JSON.stringify(got) === JSON.stringify(expected)) break
      if (proc.exited()) break
      await sleep(500)
    }
    const why =
      `${context}\nsource:      ${expected.join(" | ")}\ndestination: ${got.join(" | ")}\n` +
      `walferry output:\n${proc.output()}`
    expect(got, why).toEqual(expected)
    const status = await proc.status()
    expect(
      status.tables.filter((t) => t.state !== "streaming"),
      why
    ).toEqual([])
    // the slot confirms up to the end of what was written (caught up and idle)
    const until2 = Date.now() + 20_000
    while (Date.now() < until2 && ((await slotInfo(source, slot))?.confirmed ?? 0n) < lsnOf(end!.l)) await sleep(200)
    expect((await slotInfo(source, slot))!.confirmed >= lsnOf(end!.l), `slot not confirmed to ${end!.l}; ${why}`).toBe(
      true
    )
  }

  it("survives SIGKILL of the walferry process at random points", async () => {
    const seed = testSeed()
    const r = seededRandom(seed)
    const { start, slot } = await prepare("crash_kill")
    let proc = await start()
    await waitStreaming(proc)
    const began = Date.now()
    const workload = startWorkload(source.url("crash_kill"), seed)
    const kills: Array<string> = []
    const outputs: Array<string> = []
    try {
      const n = int(r, 3, 4)
      for (let k = 0; k < n; k++) {
        await waitStreaming(proc)
        const after = 300 + Math.floor(r() * 2500)
        await sleep(after)
        const s = await proc.status().catch(() => undefined)
        kills.push(
          `#${k + 1} at +${Date.now() - began} ms (${after} ms after streaming, ` +
            `applied ${JSON.stringify(s?.tables.map((t) => t.rowsApplied))})`
        )
        proc.kill("SIGKILL")
        const exit = await proc.waitExit(10_000)
        expect(exit.signal).toBe("SIGKILL")
        outputs.push(proc.output().split("\n").slice(-15).join("\n"))
        await proc.stop()
        proc = await start()
      }
      const left = WORKLOAD_MS - (Date.now() - began)
      if (left > 0) await sleep(left)
    } finally {
      await workload.stop()
    }
    const stats = workload.stats
    expect(stats.committed).toBeGreaterThan(200)
    await assertConverged(
      "crash_kill",
      proc,
      slot,
      `seed ${seed}; kills: ${kills.join("; ")}; workload ${JSON.stringify(stats)}\n` +
        `earlier runs (tails):\n${outputs.join("\n---\n")}`
    )
    await proc.stop()
  })

  it("survives restarts of the destination server mid-load", async (ctx) => {
    if (dest.external) return ctx.skip()
    const seed = testSeed()
    const r = seededRandom(seed)
    const { start, slot } = await prepare("crash_dest")
    const proc = await start()
    await waitStreaming(proc)
    const began = Date.now()
    const workload = startWorkload(source.url("crash_dest"), seed)
    const restarts: Array<string> = []
    try {
      for (const window of [3_000, 9_000]) {
        await sleep(Math.max(0, began + window + Math.floor(r() * 2_500) - Date.now()))
        restarts.push(`+${Date.now() - began} ms`)
        await dest.restart()
      }
      await sleep(Math.max(0, began + WORKLOAD_MS - Date.now()))
    } finally {
      await workload.stop()
    }
    expect(proc.exited(), proc.output()).toBeUndefined()
    expect(workload.stats.committed).toBeGreaterThan(200)
    await assertConverged(
      "crash_dest",
      proc,
      slot,
      `seed ${seed}; destination restarts at ${restarts.join(", ")}; workload ${JSON.stringify(workload.stats)}`
    )
    await proc.stop()
  })

  it("reconnects by itself after restarts of the source server mid-load", async (ctx) => {
    if (source.external) return ctx.skip()
    const seed = testSeed()
    const r = seededRandom(seed)
    const { start, slot } = await prepare("crash_src")
    const proc = await start()
    await waitStreaming(proc)
    const began = Date.now()
    const workload = startWorkload(source.url("crash_src"), seed)
    const restarts: Array<string> = []
    try {
      for (const window of [3_000, 9_000]) {
        await sleep(Math.max(0, began + window + Math.floor(r() * 2_500) - Date.now()))
        restarts.push(`+${Date.now() - began} ms`)
        await source.restart()
      }
      await sleep(Math.max(0, began + WORKLOAD_MS - Date.now()))
    } finally {
      await workload.stop()
    }
    expect(proc.exited(), proc.output()).toBeUndefined()
    expect(workload.stats.committed).toBeGreaterThan(200)
    await waitStreaming(proc, 60_000)
    await assertConverged(
      "crash_src",
      proc,
      slot,
      `seed ${seed}; source restarts at ${restarts.join(", ")}; workload ${JSON.stringify(workload.stats)}`
    )
    await proc.stop()
  })
})
