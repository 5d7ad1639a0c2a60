/**
 * Initial-sync benchmark: walferry's chunked parallel copy against native logical replication's
 * `copy_data` (CREATE SUBSCRIPTION, default tablesync workers), same embedded source and destination
 * servers, same run, fresh destination databases each time.
 *  - one table of 2,000,000 rows; four tables of 500,000 rows (id bigint key, int, md5 text, timestamptz)
 *  - native: from CREATE SUBSCRIPTION until every table is synced (pg_subscription_rel state r/s)
 *  - walferry: from "pipeline started" to "streaming" in its log (slot and publication creation, chunk
 *    planning, the copy), i.e. without the process start (tsx compiling the sources); the end-to-end
 *    time from spawning the process is shown too; it runs the compiled dist/ (`npm run bench:sync` builds it)
 * Usage: npm run bench:sync [-- --version 17 --parallelism 4 --chunk 100000 --repeat 1]
 */
import { startPgServer, type PgServer, type PgVersion } from "../test/support/PgServer.js"
import { startSyncProcess } from "../test/support/syncProcess.js"
import { fmt, openPoller, sleep } from "./support.js"
import { arg } from "./args.js"

const VERSION = arg("version", 17) as PgVersion
const PARALLELISM = arg("parallelism", 4)
const CHUNK = arg("chunk", 100_000)
const REPEAT = arg("repeat", 1)
const SETTINGS = { shared_buffers: "512MB", max_wal_size: "8GB", checkpoint_timeout: "30min", max_worker_processes: 16 }

const TABLE = (name: string) => `create table ${name} (id bigint primary key, a int, b text, c timestamptz not null)`
const FILL = (name: string, rows: number) =>
  `insert into ${name} select g, g % 1000, md5(g::text), now() - g * interval '1 second' from generate_series(1, ${rows}) g`

interface Scenario {
  readonly name: string
  readonly tables: ReadonlyArray<string>
  readonly rows: number
}

const SCENARIOS: ReadonlyArray<Scenario> = [
  { name: "1 x 2,000,000 rows", tables: ["one"], rows: 2_000_000 },
  { name: "4 x 500,000 rows", tables: ["q1", "q2", "q3", "q4"], rows: 2_000_000 }
]

const waitUntil = async (check: () => Promise<boolean>, timeoutMs = 1_800_000) => {
  const until = Date.now() + timeoutMs
  while (Date.now() < until) {
    if (await check()) return
    await sleep(50)
  }
  throw new Error("timed out")
}

const countAll = async (pg: PgServer, db: string, tables: ReadonlyArray<string>) => {
  let n = 0
  for (const t of tables) n += Number((await pg.query(`select count(*)::bigint as n from ${t}`, [], db))[0].n)
  return n
}

const native = async (src: PgServer, dst: PgServer, s: Scenario, run: string): Promise<number> => {
  const db = `n_${run}`
  await dst.createDatabase(db)
  await dst.query(s.tables.map(TABLE).join("; "), [], db)
  await dst.query("checkpoint")
  const started = performance.now()
  await dst.query(
    `create subscription sub_${run} connection 'host=127.0.0.1 port=${src.port} dbname=bench user=postgres'
     publication pub_${s.tables[0]} with (copy_data = true)`,
    [],
    db
  )
  const poll = await openPoller(dst, db)
  await waitUntil(async () => {
    const { rows } = await poll.query("select srsubstate from pg_subscription_rel")
    return rows.length === s.tables.length && rows.every((r) => r.srsubstate === "r" || r.srsubstate === "s")
  }).finally(() => poll.end())
  const seconds = (performance.now() - started) / 1000
  if ((await countAll(dst, db, s.tables)) !== s.rows) throw new Error(`native ${s.name}: row count differs`)
  await dst.query(`drop subscription sub_${run}`, [], db)
  return seconds
}

const walferry = async (src: PgServer, dst: PgServer, s: Scenario, run: string) => {
  const db = `w_${run}`
  await dst.createDatabase(db)
  await dst.query(s.tables.map(TABLE).join("; "), [], db)
  await dst.query("checkpoint")
  const started = performance.now()
  const proc = startSyncProcess({
    destination: dst.url(db),
    map: [
      {
        database: `g_${run}`,
        urls: [{ url: src.url("bench"), sid: "" }],
        tables: Object.fromEntries(s.tables.map((t) => [t, null]))
      }
    ],
    tuning: { sync_parallelism: PARALLELISM, sync_chunk_rows: CHUNK },
    logLevel: "info",
    compiled: true
  })
  const poll = await openPoller(dst, db)
  try {
    await waitUntil(async () => {
      const rows = await poll.query("select state from walferry.sync_tables").then(
        (r) => r.rows,
        () => []
      )
      return rows.length === s.tables.length && rows.every((r) => r.state === "done")
    })
  } catch (e) {
    console.error(proc.output())
    throw e
  } finally {
    await poll.end()
  }
  const endToEnd = (performance.now() - started) / 1000
  await waitUntil(async () => / message="?streaming\b/.test(proc.output()), 60_000)
  const output = proc.output()
  const at = (pattern: RegExp) =>
    Date.parse(/timestamp=(\S+)/.exec(output.split("\n").find((l) => pattern.test(l)) ?? "")![1]!)
  const seconds = (at(/pipeline started/) - at(/ message="?streaming\b/)) / -1000
  if (process.env.BENCH_LOGS) console.log(output)
  await proc.stop()
  await src.query(
    `select pg_drop_replication_slot(slot_name) from pg_replication_slots where slot_name like 'walferry_g_${run}%'`,
    [],
    "bench"
  )
  if ((await countAll(dst, db, s.tables)) !== s.rows) throw new Error(`walferry ${s.name}: row count differs`)
  return { seconds, endToEnd }
}

const main = async () => {
  console.log(
    `walferry initial-sync benchmark: Postgres ${VERSION}, sync_parallelism ${PARALLELISM}, sync_chunk_rows ${fmt(CHUNK)}, ` +
      `native: default tablesync workers (max_sync_workers_per_subscription = 2)`
  )
  const [src, dst] = await Promise.all([
    startPgServer({ version: VERSION, settings: SETTINGS }),
    startPgServer({ version: VERSION, settings: SETTINGS })
  ])
  try {
    await src.createDatabase("bench")
    const load = [TABLE("one"), FILL("one", 2_000_000), "create publication pub_one for table one"]
    for (const q of ["q1", "q2", "q3", "q4"]) load.push(TABLE(q), FILL(q, 500_000))
    load.push("create publication pub_q1 for table q1, q2, q3, q4", "vacuum analyze")
    for (const q of load) await src.query(q, [], "bench")
    const results: Array<Record<string, string>> = []
    for (let r = 0; r < REPEAT; r++) {
      for (const [i, s] of SCENARIOS.entries()) {
        const run = `${i}_${r}`
        const n = await native(src, dst, s, run)
        const w = await walferry(src, dst, s, run)
        results.push({
          scenario: s.name,
          "native copy_data s": fmt(n, 2),
          "native rows/s": fmt(s.rows / n),
          "walferry s": fmt(w.seconds, 2),
          "walferry rows/s": fmt(s.rows / w.seconds),
          "walferry / native": `${fmt(n / w.seconds, 2)}x`,
          "walferry incl. process start s": fmt(w.endToEnd, 2)
        })
      }
    }
    console.table(results)
  } finally {
    await Promise.all([src.stop(), dst.stop()])
  }
}

main().then(
  () => process.exit(0),
  (e) => {
    console.error(e)
    process.exit(1)
  }
)
