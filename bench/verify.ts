/**
 * Verify benchmark: `walferry verify` (the installed command, compiled dist/) on a 2,000,000-row table
 * against a full comparison baseline, on fresh embedded source and destination servers.
 *  - table: id bigint key, int, md5 text, timestamptz; written alike on both servers, then analyzed
 *  - baseline: `COPY (select … order by id) TO STDOUT` streamed from both servers at once and compared
 *    row by row in Node (a merge on the key), i.e. what `pg_dump | psql`-style comparison costs without
 *    the restore; there is no pg_dump in the embedded packages
 *  - verify on equal tables, then with 3 planted differences (missing, extra, changed row) it must find
 *  - verify's time is the process wall time (start, connect, compare, print); its own report time is shown too
 * Usage: npm run bench:verify [-- --version 15 --dest-version 17 --parallelism 4 --rows 2000000 --repeat 1]
 */
import { spawn } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import type { Readable } from "node:stream"
import pg from "pg"
import { to as copyTo } from "pg-copy-streams"
import { stringify } from "yaml"
import { startPgServer, type PgServer, type PgVersion } from "../test/support/PgServer.js"
import { fmt } from "./support.js"
import { arg } from "./args.js"

const VERSION = arg("version", 15) as PgVersion
const DEST_VERSION = arg("dest-version", 17) as PgVersion
const PARALLELISM = arg("parallelism", 4)
const ROWS = arg("rows", 2_000_000)
const REPEAT = arg("repeat", 1)
const SETTINGS = { shared_buffers: "512MB", max_wal_size: "8GB", checkpoint_timeout: "30min" }

const LOAD = [
  "create table one (id bigint primary key, a int, b text, c timestamptz not null)",
  `insert into one select g, g % 1000, md5(g::text), timestamptz '2025-01-01 00:00:00+00' - g * interval '1 second'
   from generate_series(1, ${ROWS}) g`,
  "vacuum analyze one"
]

async function* lines(stream: Readable): AsyncGenerator<string> {
  let rest = ""
  for await (const chunk of stream as AsyncIterable<Buffer>) {
    const parts = (rest + chunk.toString("utf8")).split("\n")
    rest = parts.pop()!
    yield* parts
  }
  if (rest !== "") yield rest
}

/** both sides' rows, sorted by key, streamed and merged: returns the rows compared and the differences */
const baseline = async (src: PgServer, dst: PgServer) => {
  const open = async (server: PgServer) => {
    const client = new pg.Client({ connectionString: server.url("bench"), options: "-c TimeZone=UTC" })
    await client.connect()
    return client
  }
  const [a, b] = await Promise.all([open(src), open(dst)])
  try {
    const sql = "copy (select id, a, b, c from one order by id) to stdout"
    const left = lines(a.query(copyTo(sql)))
    const right = lines(b.query(copyTo(sql)))
    const keyOf = (line: string) => Number(line.slice(0, line.indexOf("\t")))
    let [l, r] = await Promise.all([left.next(), right.next()])
    let rows = 0
    let differences = 0
    while (!l.done || !r.done) {
      const lk = l.done ? Infinity : keyOf(l.value)
      const rk = r.done ? Infinity : keyOf(r.value)
      if (lk === rk) {
        rows++
        if (l.value !== r.value) differences++
        ;[l, r] = await Promise.all([left.next(), right.next()])
      } else if (lk < rk) {
        rows++
        differences++
        l = await left.next()
      } else {
        differences++
        r = await right.next()
      }
    }
    return { rows, differences }
  } finally {
    await Promise.all([a.end(), b.end()])
  }
}

/** `walferry verify --json` as a process: wall seconds, exit code, the report */
const verify = async (config: string) => {
  const started = performance.now()
  let out = ""
  const child = spawn(process.execPath, ["bin/walferry.js", "verify", "--config", config, "--json"], {
    stdio: ["ignore", "pipe", "inherit"],
    env: { ...process.env, WALFERRY_LOG__LEVEL: "warning" }
  })
  child.stdout.on("data", (d: Buffer) => (out += d.toString()))
  const code = await new Promise<number | null>((r) => child.once("exit", r))
  const seconds = (performance.now() - started) / 1000
  const report = JSON.parse(out) as {
    millis: number
    tables: Array<{ missing: number; extra: number; different: number; sourceRows: number; ranges: number }>
  }
  return { seconds, code, report }
}

const main = async () => {
  console.log(
    `walferry verify benchmark: ${fmt(ROWS)} rows, source Postgres ${VERSION} → destination ${DEST_VERSION}, ` +
      `parallelism ${PARALLELISM}; baseline: COPY … ORDER BY id TO STDOUT from both, merged in Node`
  )
  const [src, dst] = await Promise.all([
    startPgServer({ version: VERSION, settings: SETTINGS }),
    startPgServer({ version: DEST_VERSION, settings: SETTINGS })
  ])
  const dir = mkdtempSync(join(tmpdir(), "walferry-bench-verify-"))
  try {
    for (const s of [src, dst]) {
      await s.createDatabase("bench")
      for (const q of LOAD) await s.query(q, [], "bench")
    }
    const config = join(dir, "walferry.yaml")
    writeFileSync(
      config,
      stringify({
        destination: { url: dst.url("bench") },
        map: [{ database: "bench", urls: [{ url: src.url("bench"), sid: "" }], tables: { one: null } }],
        tuning: { sync_parallelism: PARALLELISM },
        api: { enabled: false }
      })
    )
    const results: Array<Record<string, string>> = []
    for (let r = 0; r < REPEAT; r++) {
      const base0 = performance.now()
      const b = await baseline(src, dst)
      const baseSeconds = (performance.now() - base0) / 1000
      if (b.rows !== ROWS || b.differences !== 0) throw new Error(`baseline: ${JSON.stringify(b)}`)
      const equal = await verify(config)
      if (equal.code !== 0) throw new Error(`verify on equal tables exited ${equal.code}`)
      await dst.query(
        `delete from one where id = 1234; update one set b = 'x' where id = ${Math.floor(ROWS / 2)};
         insert into one values (${ROWS + 10}, 1, 'extra', now())`,
        [],
        "bench"
      )
      const diff = await verify(config)
      const t = diff.report.tables[0]!
      if (diff.code !== 1 || t.missing !== 1 || t.extra !== 1 || t.different !== 1) {
        throw new Error(`verify did not find the 3 planted differences: ${JSON.stringify(t)}`)
      }
      await dst.query(
        `insert into one select id, a, b, c from (select g as id, g % 1000 as a, md5(g::text) as b,
           timestamptz '2025-01-01 00:00:00+00' - g * interval '1 second' as c from generate_series(1234, 1234) g) x;
         update one set b = md5(id::text) where id = ${Math.floor(ROWS / 2)}; delete from one where id = ${ROWS + 10}`,
        [],
        "bench"
      )
      results.push({
        round: String(r + 1),
        "baseline COPY+merge s": fmt(baseSeconds, 2),
        "baseline rows/s": fmt(ROWS / baseSeconds),
        "verify (equal) s": fmt(equal.seconds, 2),
        "verify report s": fmt(equal.report.millis / 1000, 2),
        "verify rows/s": fmt(ROWS / equal.seconds),
        "baseline / verify": `${fmt(baseSeconds / equal.seconds, 2)}x`,
        "verify, 3 differences s": fmt(diff.seconds, 2),
        ranges: String(equal.report.tables[0]!.ranges)
      })
    }
    console.table(results)
  } finally {
    rmSync(dir, { recursive: true, force: true })
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
