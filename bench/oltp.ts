/**
 * OLTP benchmark: walferry against native logical replication (CREATE SUBSCRIPTION) on the mix most users
 * run (bench/oltpWorkload.ts: pgbench's TPC-B-like transaction, with --rich also unchanged-TOAST updates
 * and delete + re-insert), same embedded source and destination, same run. Each contender gets its own
 * source database and destination database; native runs first and its slot is dropped before walferry's
 * is made, so neither decodes the other's WAL.
 *  - backlog: N transactions queued while the consumer is stopped, then the consumer started; time until
 *    the destination equals the source (polled every 100 ms), catch-up tx/s and row changes/s, CPU per
 *    1,000 transactions by process.
 *  - live: the consumer runs while clients load the source for S seconds; the rate the source sustained
 *    beside it, lag p50/p99 (history rows: destination arrival - source clock), drain time after the load,
 *    CPU per 1,000 transactions, walferry's RSS at the end (steady state) and peak.
 *  - burst: the backlog again, queued while the running consumer is paused (walferry: POST /pause; native:
 *    the subscription disabled), then resumed: a warm process, as after a source's batch job or a paused
 *    destination, where the backlog above also pays for a fresh process (walferry's JIT compiling its
 *    code on the same two cores).
 * Both end with a checksum of every table on both sides. With --repeat N it runs N times on fresh servers.
 * Usage: npm run bench:oltp [-- --tx 240000 --seconds 20 --clients 8 --tps 0 --rich 0|1 --version 17
 *                               --repeat 1 --native 0|1 --fsync 0|1 --statements 0|1]
 */
import pg from "pg"
import { startPgServer, type PgServer, type PgVersion } from "../test/support/PgServer.js"
import { cpuSince, cpuSnapshot, MAIN_THREAD, type CpuUse } from "./cpu.js"
import * as W from "./oltpWorkload.js"
import { fmt, openPoller, percentile, sleep, startWalferry } from "./support.js"
import { arg } from "./args.js"
import { printStatements, resetStatements, STATEMENT_SETTINGS } from "./destStatements.js"

const TX = arg("tx", 240_000)
const SECONDS = arg("seconds", 20)
const CLIENTS = arg("clients", 8)
const TPS = arg("tps", 0)
const RICH = arg("rich", 0) !== 0
const VERSION = arg("version", 17) as PgVersion
const REPEAT = Math.max(1, arg("repeat", 1))
const NATIVE = arg("native", 1) !== 0
/** --fsync 1: both servers flush their WAL (what a commit costs on a real disk); the default has fsync off */
const FSYNC = arg("fsync", 0) !== 0
/** --statements 1: what walferry's statements cost the destination during its live load (bench/destStatements) */
const STATEMENTS = arg("statements", 0) !== 0
const SETTINGS = {
  shared_buffers: "512MB",
  max_wal_size: "8GB",
  checkpoint_timeout: "30min",
  ...(FSYNC ? { fsync: "on" } : {}),
  ...(STATEMENTS ? STATEMENT_SETTINGS : {})
}
const TOKEN = "bench-oltp"
const ROLES = ["walsender", "apply worker", "walferry", MAIN_THREAD, "destination backend", "other server processes"]

interface Phase {
  readonly tx: number
  readonly seconds: number
  readonly cpu: CpuUse
}

interface SourceState {
  readonly hot: string
  readonly history: number
  readonly accounts: string
  readonly sums: Record<string, string>
}

/** the source's state once its load is over, read before the consumer starts where it can be */
const sourceState = async (src: PgServer, srcDb: string): Promise<SourceState> => {
  const source = await openPoller(src, srcDb)
  try {
    return {
      hot: await W.hotSums(source),
      history: await W.historyCount(source),
      accounts: await W.accountsSum(source),
      sums: await W.checksums(source)
    }
  } finally {
    await source.end()
  }
}

/**
 * polls until the destination equals `want`: the small balances first, then the history count and the accounts
 * balance, then every checksum (a full read of each table: taken before the last batch of accounts has landed,
 * it cost a catch-up a wasted pass and a poll interval, ~0.5 s)
 */
const waitEqual = async (want: SourceState, dst: pg.Client, timeoutMs = 900_000) => {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (
      (await W.hotSums(dst)) === want.hot &&
      (await W.historyCount(dst)) === want.history &&
      (await W.accountsSum(dst)) === want.accounts
    ) {
      const got = await W.checksums(dst)
      if (W.TABLES.every((t) => got[t] === want.sums[t])) return
    }
    await sleep(100)
  }
  throw new Error(`${dst.database} did not reach the source's state in ${timeoutMs} ms`)
}

/**
 * until the destination's balances move: a consumer applied its first transaction (walferry's tables commit
 * separately, so its first balance may come a batch, ~10 ms, after its first row: under 1 % of a catch-up)
 */
const waitFirstArrival = async (dst: pg.Client, before: string) => {
  while ((await W.hotSums(dst)) === before) await sleep(5)
}

interface CatchUp extends Phase {
  readonly fromStart: number
  /** from the first arrival: without what a consumer spends on starting (walferry: ~0.8 s of CPU) */
  readonly afterStart: CpuUse
}

/** backlog catch-up: `start` starts the consumer; timed (and CPU counted) from there and from the first arrival */
const catchUp = async (src: PgServer, srcDb: string, dst: pg.Client, start: () => Promise<void>): Promise<CatchUp> => {
  const before = await W.hotSums(dst)
  await W.backlog(src, srcDb, TX)
  const want = await sourceState(src, srcDb)
  const t0 = performance.now()
  const cpu0 = cpuSnapshot()
  await start()
  await waitFirstArrival(dst, before)
  const t1 = performance.now()
  const cpu1 = cpuSnapshot()
  await waitEqual(want, dst)
  const t2 = performance.now()
  const end = cpuSnapshot()
  return {
    tx: TX,
    seconds: (t2 - t1) / 1000,
    fromStart: (t2 - t0) / 1000,
    cpu: cpuSince(cpu0, end),
    afterStart: cpuSince(cpu1, end)
  }
}

interface Live extends Phase {
  readonly sourceTps: number
  readonly drain: number
  readonly lag: { p50: number; p99: number }
}

const live = async (src: PgServer, srcDb: string, dst: pg.Client): Promise<Live> => {
  const before = Number((await src.query(`select count(*) n from history`, [], srcDb))[0].n)
  const cpu0 = cpuSnapshot()
  const load = await W.liveLoad(src, srcDb, SECONDS, CLIENTS, TPS)
  const loaded = performance.now()
  await waitEqual(await sourceState(src, srcDb), dst)
  const drain = (performance.now() - loaded) / 1000
  const cpu = cpuSince(cpu0)
  const tx = load.total - before
  const sorted = (
    await dst.query(
      `select extract(epoch from arrived - mtime)::float8 * 1000 ms from (select * from history order by mtime desc limit $1) x order by 1`,
      [tx]
    )
  ).rows.map((r) => r.ms as number)
  return {
    tx,
    seconds: load.elapsed,
    sourceTps: tx / load.elapsed,
    drain,
    cpu,
    lag: { p50: percentile(sorted, 50), p99: percentile(sorted, 99) }
  }
}

const perK = (cpu: CpuUse, tx: number, role: string) => fmt(((cpu.byRole.get(role) ?? 0) / tx) * 1000, 3)

/** CPU seconds per 1,000 transactions of the consumer: walferry + its destination backends, or native's apply worker */
const consumerPerK = (who: string, p: Phase) =>
  (((p.cpu.byRole.get(who === "native" ? "apply worker" : "walferry") ?? 0) +
    (p.cpu.byRole.get("destination backend") ?? 0)) /
    p.tx) *
  1000

const cpuRow = (who: string, phase: string, p: Phase) => ({
  contender: who,
  phase,
  "CPU s / 1k tx": fmt((p.cpu.total / p.tx) * 1000, 3),
  ...Object.fromEntries(ROLES.map((r) => [r, perK(p.cpu, p.tx, r)])),
  "consumer side": fmt(consumerPerK(who, p), 3)
})

interface Result {
  readonly backlog: CatchUp
  readonly live: Live
  readonly burst: CatchUp
  readonly rss?: { steady: number; peak: number }
}

const resultRow = (r: Result) => ({
  "catch-up tx/s": fmt(r.backlog.tx / r.backlog.seconds),
  "changes/s": fmt((r.backlog.tx * W.changesPerTx(RICH)) / r.backlog.seconds),
  "catch-up s": fmt(r.backlog.seconds, 2),
  "from start s": fmt(r.backlog.fromStart, 2),
  "live source tx/s": fmt(r.live.sourceTps),
  "lag p50 ms": fmt(r.live.lag.p50, 1),
  "lag p99 ms": fmt(r.live.lag.p99, 1),
  "drain s": fmt(r.live.drain, 2),
  "burst catch-up tx/s": fmt(r.burst.tx / r.burst.seconds),
  "RSS steady/peak MB": r.rss ? `${fmt(r.rss.steady)}/${fmt(r.rss.peak)}` : "n/a (in server)"
})

const assertEqual = async (src: PgServer, srcDb: string, dst: pg.Client) => {
  const a = (await sourceState(src, srcDb)).sums
  const b = await W.checksums(dst)
  for (const t of W.TABLES) if (a[t] !== b[t]) throw new Error(`${dst.database}.${t}: ${b[t]} != source ${a[t]}`)
  return "equal"
}

const runNative = async (src: PgServer, dst: PgServer, poll: pg.Client): Promise<Result> => {
  await dst.query(
    `create subscription oltp_sub connection 'host=127.0.0.1 port=${src.port} dbname=bench_native user=postgres' publication oltp_pub`,
    [],
    "dest_native"
  )
  await waitEqual(await sourceState(src, "bench_native"), poll)
  await dst.query("alter subscription oltp_sub disable", [], "dest_native")
  await sleep(1000)
  const backlog = await catchUp(src, "bench_native", poll, () =>
    dst.query("alter subscription oltp_sub enable", [], "dest_native").then(() => undefined)
  )
  const l = await live(src, "bench_native", poll)
  await dst.query("alter subscription oltp_sub disable", [], "dest_native")
  await sleep(1000)
  const burst = await catchUp(src, "bench_native", poll, () =>
    dst.query("alter subscription oltp_sub enable", [], "dest_native").then(() => undefined)
  )
  console.log(`native: ${await assertEqual(src, "bench_native", poll)}`)
  await dst.query("drop subscription oltp_sub", [], "dest_native")
  return { backlog, live: l, burst }
}

const runWalferry = async (src: PgServer, dst: PgServer, poll: pg.Client): Promise<Result> => {
  const yaml = (port: number) => `
destination: { url: "${dst.url("dest_wf")}" }
map:
  - database: bench
    urls: [{ url: "${src.url("bench_wf")}", sid: "" }]
    tables: { accounts: , tellers: , branches: , docs: , history: { type: append } }
api: { listen: "127.0.0.1:${port}", token: "${TOKEN}" }
log: { level: warning }
`
  let wf = await startWalferry(yaml)
  await wf.waitStreaming(600_000)
  await wf.stop()
  const backlog = await catchUp(src, "bench_wf", poll, async () => {
    wf = await startWalferry(yaml)
  })
  const afterBacklog = await wf.batchStats()
  if (STATEMENTS) await resetStatements(poll)
  const l = await live(src, "bench_wf", poll)
  if (STATEMENTS) await printStatements(poll, "walferry's live load")
  const afterLive = await wf.batchStats()
  const steady = wf.rssMb()
  console.log(`walferry memory after the live load (MB): ${await wf.memory()}`)
  await wf.control("pause", TOKEN)
  const burst = await catchUp(src, "bench_wf", poll, () => wf.control("resume", TOKEN))
  console.log("walferry batches (backlog, then live): table, batches, rows per batch")
  for (const [t, b] of Object.entries(afterLive)) {
    const a = afterBacklog[t] ?? { batches: 0, rows: 0 }
    const per = (rows: number, n: number) => (n === 0 ? "-" : fmt(rows / n, 1))
    console.log(
      `  ${t}: ${a.batches} × ${per(a.rows, a.batches)}, ${b.batches - a.batches} × ${per(b.rows - a.rows, b.batches - a.batches)}`
    )
  }
  const peak = wf.maxRssMb()
  await wf.stop()
  console.log(`walferry: ${await assertEqual(src, "bench_wf", poll)}`)
  return { backlog, live: l, burst, rss: { steady, peak } }
}

const round = async () => {
  const [src, dst] = await Promise.all([
    startPgServer({ version: VERSION, settings: SETTINGS }),
    startPgServer({ version: VERSION, settings: SETTINGS })
  ])
  try {
    const results: Record<string, Result> = {}
    for (const [who, srcDb, dstDb] of [
      ["native", "bench_native", "dest_native"],
      ["walferry", "bench_wf", "dest_wf"]
    ] as const) {
      if (who === "native" && !NATIVE) continue
      await src.createDatabase(srcDb)
      await W.prepareSource(src, srcDb, RICH)
      await dst.createDatabase(dstDb)
      await dst.query(W.DEST_SCHEMA, [], dstDb)
      if (who === "native") await src.query(`create publication oltp_pub for table ${W.TABLES.join(", ")}`, [], srcDb)
      const poll = await openPoller(dst, dstDb)
      try {
        results[who] = who === "native" ? await runNative(src, dst, poll) : await runWalferry(src, dst, poll)
      } finally {
        await poll.end()
      }
    }
    console.table(Object.fromEntries(Object.entries(results).map(([k, v]) => [k, resultRow(v)])))
    console.log("CPU seconds per 1,000 transactions, by process:")
    console.table(
      Object.entries(results).flatMap(([who, r]) => [
        cpuRow(who, "backlog", r.backlog),
        cpuRow(who, "backlog from 1st change", { ...r.backlog, cpu: r.backlog.afterStart }),
        cpuRow(who, "live", r.live),
        cpuRow(who, "burst", r.burst)
      ])
    )
    return results
  } finally {
    await Promise.all([src.stop(), dst.stop()])
  }
}

const main = async () => {
  console.log(
    `walferry OLTP benchmark: Postgres ${VERSION}${FSYNC ? " (fsync on)" : ""}, ${RICH ? "rich" : "TPC-B"} mix, backlog ${fmt(TX)} tx, ` +
      `live ${SECONDS} s from ${CLIENTS} clients${TPS > 0 ? ` at ${TPS} tx/s` : ""}`
  )
  const rounds: Array<Record<string, Result>> = []
  for (let i = 0; i < REPEAT; i++) {
    if (REPEAT > 1) console.log(`round ${i + 1} of ${REPEAT}`)
    rounds.push(await round())
  }
  if (!NATIVE) return
  const ratio = (r: Record<string, Result>) => r.native!.backlog.seconds / r.walferry!.backlog.seconds
  const liveRatio = (r: Record<string, Result>) => r.walferry!.live.sourceTps / r.native!.live.sourceTps
  const burstRatio = (r: Record<string, Result>) => r.native!.burst.seconds / r.walferry!.burst.seconds
  console.table(
    rounds.map((r) => ({
      "walferry catch-up tx/s": fmt(r.walferry!.backlog.tx / r.walferry!.backlog.seconds),
      "native catch-up tx/s": fmt(r.native!.backlog.tx / r.native!.backlog.seconds),
      "catch-up walferry / native": fmt(ratio(r), 2),
      "live source tx/s beside walferry / beside native": fmt(liveRatio(r), 2),
      "burst catch-up walferry / native": fmt(burstRatio(r), 2),
      // CPU per transaction is measured within the round, so it moves less with the machine than rates do
      "consumer CPU per tx, walferry / native: backlog": fmt(
        consumerPerK("walferry", r.walferry!.backlog) / consumerPerK("native", r.native!.backlog),
        2
      ),
      "consumer CPU per tx, walferry / native: live": fmt(
        consumerPerK("walferry", r.walferry!.live) / consumerPerK("native", r.native!.live),
        2
      ),
      "consumer CPU per tx, walferry / native: burst": fmt(
        consumerPerK("walferry", r.walferry!.burst) / consumerPerK("native", r.native!.burst),
        2
      )
    }))
  )
  for (const [what, of] of [
    ["catch-up", ratio],
    ["burst catch-up", burstRatio]
  ] as const) {
    const ratios = rounds.map(of).sort((a, b) => a - b)
    console.log(
      `${what}: walferry ahead in ${ratios.filter((x) => x >= 1).length} of ${REPEAT}; ` +
        `median walferry / native ${fmt(percentile(ratios, 50), 2)}`
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
