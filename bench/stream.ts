/**
 * Streaming benchmark: walferry against native logical replication (CREATE SUBSCRIPTION), same
 * embedded source and destination, same run.
 *  - bulk: 1,000,000 rows in 1,000-row transactions accumulated while the consumer was stopped, then
 *    applied; rate = rows / (last arrival - first arrival) on the destination.
 *  - lag: single-row transactions at a steady rate (default 2,000 tx/s for 20 s); lag = destination
 *    arrival time (column default clock_timestamp()) - source clock_timestamp() in the row.
 *  - CPU per bulk row by process (bench/cpu.ts), and the rate the busiest one allows if it had a core to
 *    itself: on a machine with few cores the contenders share them, and this shows who scales with more.
 * With --repeat N the whole run is repeated on fresh servers and a summary gives each round's bulk rates:
 * on a shared machine the same build varies by ±15% between runs, so only rates of one round compare.
 * Usage: npm run bench:stream [-- --rows 1000000 --tps 2000 --seconds 20 --version 17 --native 0|1 --repeat 1]
 */
import pg from "pg"
import { startPgServer, type PgServer, type PgVersion } from "../test/support/PgServer.js"
import { cpuSince, cpuSnapshot, type CpuUse } from "./cpu.js"
import { fmt, openPoller, percentile, sleep, startWalferry, waitIds } from "./support.js"
import { arg } from "./args.js"

const ROWS = arg("rows", 1_000_000)
const TPS = arg("tps", 2_000)
const SECONDS = arg("seconds", 20)
const VERSION = arg("version", 17) as PgVersion
const REPEAT = Math.max(1, arg("repeat", 1))
const NATIVE = arg("native", 1) !== 0
const SETTINGS = { shared_buffers: "512MB", max_wal_size: "8GB", checkpoint_timeout: "30min" }

const TABLE = (name: string, extra = "") =>
  `create table ${name} (id bigint primary key, a int, b text, c timestamptz not null${extra})`

const bulkLoad = async (src: PgServer, table: string, from: number) => {
  const client = new pg.Client({ connectionString: src.url("bench") })
  await client.connect()
  for (let i = 0; i < ROWS / 1000; i++) {
    const lo = from + i * 1000
    await client.query(
      `insert into ${table} select g, g % 1000, md5(g::text), clock_timestamp() from generate_series($1::bigint, $2::bigint) g`,
      [lo, lo + 999]
    )
  }
  await client.end()
}

const steadyLoad = async (src: PgServer, table: string, from: number): Promise<number> => {
  const conns = 8
  const total = TPS * SECONDS
  const clients = await Promise.all(
    Array.from({ length: conns }, async () => {
      const c = new pg.Client({ connectionString: src.url("bench") })
      await c.connect()
      return c
    })
  )
  const start = performance.now()
  await Promise.all(
    clients.map(async (c, k) => {
      for (let i = k; i < total; i += conns) {
        const due = start + (i * 1000) / TPS
        const wait = due - performance.now()
        if (wait > 1) await sleep(wait)
        await c.query(`insert into ${table} values ($1, 1, 'x', clock_timestamp())`, [from + i])
      }
    })
  )
  const achieved = total / ((performance.now() - start) / 1000)
  await Promise.all(clients.map((c) => c.end()))
  return achieved
}

/**
 * Waits for the bulk rows like waitIds, and reads the CPU every process used from the first arrival on:
 * what a row costs, and which process bounds the rate
 */
const bulkCpu = async (poll: pg.Client, table: string): Promise<{ rows: number; cpu: CpuUse }> => {
  for (;;) {
    const [r] = (await poll.query(`select exists (select 1 from ${table} where id >= 0) as e`)).rows
    if (r.e) break
    await sleep(5)
  }
  const start = cpuSnapshot()
  const [before] = (await poll.query(`select count(*)::int as n from ${table} where id >= 0`)).rows
  await waitIds(poll, table, 0, ROWS)
  return { rows: ROWS - (before.n as number), cpu: cpuSince(start) }
}

const ROLES = ["walsender", "apply worker", "walferry", "destination backend", "other server processes"]

const cpuRow = (name: string, m: { rows: number; cpu: CpuUse }) => ({
  contender: name,
  "CPU s / 1M rows": fmt((m.cpu.total / m.rows) * 1e6, 2),
  ...Object.fromEntries(ROLES.map((role) => [role, fmt(((m.cpu.byRole.get(role) ?? 0) / m.rows) * 1e6, 2)])),
  "busiest process": m.cpu.busiest.role,
  "rows/s it allows per core": fmt(m.rows / m.cpu.busiest.seconds)
})

const measure = async (dst: PgServer, db: string, table: string, fromId: number) => {
  const [r] = await dst.query(
    `select count(*)::int n, extract(epoch from max(arrived) - min(arrived))::float8 span from ${table} where id >= $1`,
    [fromId],
    db
  )
  return { rows: r.n as number, spanSeconds: r.span as number }
}

const lags = async (dst: PgServer, db: string, table: string, fromId: number) => {
  const rows = await dst.query(
    `select extract(epoch from arrived - c)::float8 * 1000 as ms from ${table} where id >= $1 order by 1`,
    [fromId],
    db
  )
  const sorted = rows.map((r) => r.ms as number)
  return { p50: percentile(sorted, 50), p99: percentile(sorted, 99), max: sorted[sorted.length - 1] ?? NaN }
}

const row = (
  bulk: { rows: number; spanSeconds: number },
  tps: number,
  lag: { p50: number; p99: number; max: number },
  rss: string
) => ({
  "bulk rows/s": fmt(bulk.rows / bulk.spanSeconds),
  "steady tx/s": fmt(tps),
  "lag p50 ms": fmt(lag.p50, 1),
  "lag p99 ms": fmt(lag.p99, 1),
  "lag max ms": fmt(lag.max, 1),
  "max RSS MB": rss
})

type Round = Record<string, Record<string, string>>

const round = async (): Promise<Round> => {
  const [src, dst] = await Promise.all([
    startPgServer({ version: VERSION, settings: SETTINGS }),
    startPgServer({ version: VERSION, settings: SETTINGS })
  ])
  try {
    await src.createDatabase("bench")
    await src.query(
      `${TABLE("t_native")}; ${TABLE("t_wf")}; create publication native_pub for table t_native`,
      [],
      "bench"
    )
    for (const db of ["dest_native", "dest_wf"]) {
      await dst.createDatabase(db)
      await dst.query(
        TABLE(db === "dest_native" ? "t_native" : "t_wf", ", arrived timestamptz default clock_timestamp()"),
        [],
        db
      )
    }
    const poll = { native: await openPoller(dst, "dest_native"), wf: await openPoller(dst, "dest_wf") }
    try {
      return await contenders(src, dst, poll)
    } finally {
      await Promise.all([poll.native.end(), poll.wf.end()])
    }
  } finally {
    await Promise.all([src.stop(), dst.stop()])
  }
}

const contenders = async (
  src: PgServer,
  dst: PgServer,
  poll: { readonly native: pg.Client; readonly wf: pg.Client }
): Promise<Round> => {
  const results: Record<string, Record<string, string>> = {}
  const cpu: Array<Record<string, string>> = []

  // native logical replication
  if (NATIVE) {
    await dst.query(
      `create subscription bench_sub connection 'host=127.0.0.1 port=${src.port} dbname=bench user=postgres' publication native_pub with (copy_data = false)`,
      [],
      "dest_native"
    )
    await sleep(2000)
    await dst.query("alter subscription bench_sub disable", [], "dest_native")
    await sleep(1000)
    await bulkLoad(src, "t_native", 0)
    await dst.query("alter subscription bench_sub enable", [], "dest_native")
    cpu.push(cpuRow("native", await bulkCpu(poll.native, "t_native")))
    const nb = await measure(dst, "dest_native", "t_native", 0)
    const nTps = await steadyLoad(src, "t_native", 10_000_000)
    await waitIds(poll.native, "t_native", 10_000_000, TPS * SECONDS)
    const nl = await lags(dst, "dest_native", "t_native", 10_000_000)
    results.native = row(nb, nTps, nl, "n/a (in server)")
    await dst.query("drop subscription bench_sub", [], "dest_native")
  }

  // walferry
  const yaml = (port: number) => `
destination: { url: "${dst.url("dest_wf")}" }
map:
  - database: bench
    urls: [{ url: "${src.url("bench")}", sid: "" }]
    tables: { t_wf: }
api: { listen: "127.0.0.1:${port}" }
log: { level: warning }
`
  let wf = await startWalferry(yaml)
  await wf.waitStreaming() // the (empty) initial copy is done: the bulk rows below are streamed, not copied
  await wf.stop()
  await bulkLoad(src, "t_wf", 0)
  wf = await startWalferry(yaml)
  cpu.push(cpuRow("walferry", await bulkCpu(poll.wf, "t_wf")))
  const wb = await measure(dst, "dest_wf", "t_wf", 0)
  const wTps = await steadyLoad(src, "t_wf", 10_000_000)
  await waitIds(poll.wf, "t_wf", 10_000_000, TPS * SECONDS)
  const wl = await lags(dst, "dest_wf", "t_wf", 10_000_000)
  const rss = wf.maxRssMb()
  await wf.stop()
  results.walferry = row(wb, wTps, wl, fmt(rss))
  console.table(results)
  console.log("CPU seconds per 1,000,000 bulk rows, by process (from the first arrival on):")
  console.table(cpu)
  return results
}

const rate = (r: Round, who: string) => Number((r[who]?.["bulk rows/s"] ?? "NaN").replace(/,/g, ""))

const main = async () => {
  console.log(`walferry streaming benchmark: Postgres ${VERSION}, ${fmt(ROWS)} bulk rows, ${TPS} tx/s for ${SECONDS} s`)
  const rounds: Array<Round> = []
  for (let i = 0; i < REPEAT; i++) {
    if (REPEAT > 1) console.log(`round ${i + 1} of ${REPEAT}`)
    rounds.push(await round())
  }
  if (REPEAT === 1) return
  console.log("bulk rows/s by round (same round = same machine conditions):")
  console.table(
    rounds.map((r) => ({
      walferry: fmt(rate(r, "walferry")),
      ...(NATIVE
        ? { native: fmt(rate(r, "native")), "walferry / native": fmt(rate(r, "walferry") / rate(r, "native"), 2) }
        : {})
    }))
  )
  if (NATIVE) {
    const ahead = rounds.filter((r) => rate(r, "walferry") >= rate(r, "native")).length
    const ratios = rounds.map((r) => rate(r, "walferry") / rate(r, "native")).sort((a, b) => a - b)
    console.log(
      `walferry ahead in ${ahead} of ${REPEAT} rounds; median walferry / native ${fmt(percentile(ratios, 50), 2)}`
    )
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
