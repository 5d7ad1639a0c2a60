/** Shared pieces of the benchmarks: embedded servers, a walferry child process, polling, percentiles. */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { join } from "node:path"
import pg from "pg"
import { freePort, type PgServer } from "../test/support/PgServer.js"
import { POLL_ROLE } from "./cpu.js"

// a benchmark stopped by Ctrl-C or kill still runs its exit hooks: they kill its servers and walferry and remove their directories
for (const [signal, code] of [
  ["SIGINT", 130],
  ["SIGTERM", 143]
] as const)
  process.once(signal, () => process.exit(code))

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms))

/**
 * One connection for a benchmark's polls, as POLL_ROLE: a connection per poll costs the server a backend
 * start each time, and on 2 cores whatever the polls take is taken from the contender that needs the CPU.
 */
export const openPoller = async (server: PgServer, db: string): Promise<pg.Client> => {
  await server.query(
    `do $$ begin create role ${POLL_ROLE} login superuser; exception when duplicate_object then null; end $$`
  )
  const client = new pg.Client({ connectionString: server.url(db).replace("://postgres@", `://${POLL_ROLE}@`) })
  await client.connect()
  return client
}

export const count = async (pg: PgServer, table: string, db: string): Promise<number> =>
  Number((await pg.query(`select count(*)::bigint as n from ${table}`, [], db))[0].n)

/**
 * Waits until `table` holds every id of [from, from + n). It polls the highest id (one index probe) and
 * counts the range only once that id is there: a poll must not cost the destination server, shared by the
 * contenders, a scan of the whole table every 50 ms, which on 2 cores slows whichever needs more CPU.
 */
export const waitIds = async (poll: pg.Client, table: string, from: number, n: number, timeoutMs = 600_000) => {
  const until = Date.now() + timeoutMs
  const last = from + n - 1
  while (Date.now() < until) {
    const [m] = (await poll.query(`select coalesce(max(id), -1)::bigint as m from ${table} where id <= $1`, [last]))
      .rows
    if (Number(m.m) === last) {
      const [c] = (await poll.query(`select count(*)::int as n from ${table} where id between $1 and $2`, [from, last]))
        .rows
      if (c.n >= n) return
    }
    await sleep(50)
  }
  throw new Error(`${table} did not receive ids ${from}..${last} in ${timeoutMs} ms`)
}

export interface WalferryChild {
  readonly stop: () => Promise<number | null>
  /** resolves once every source streams (initial sync finished), from GET /status */
  readonly waitStreaming: (timeoutMs?: number) => Promise<void>
  readonly maxRssMb: () => number
  /** the last RSS sample (MB) */
  readonly rssMb: () => number
  /** V8 heap spaces and memory outside the heap (MB), from GET /metrics */
  readonly memory: () => Promise<string>
  /** batches applied and rows per batch by table, from GET /metrics */
  readonly batchStats: () => Promise<Record<string, { batches: number; rows: number }>>
  /** POST /pause or /resume with the configured `api.token`; pausing returns once every source reports paused */
  readonly control: (action: "pause" | "resume", token: string) => Promise<void>
}

/**
 * extra Node flags for the walferry child, e.g. BENCH_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof";
 * BENCH_STDOUT=1 shows its stdout (e.g. with --trace-gc)
 */
const nodeArgs = () => (process.env.BENCH_NODE_ARGS ?? "").split(" ").filter((a) => a.length > 0)

/** the node flags every launcher of walferry passes (bin/walferry.js's #! line, npm start, the image) */
export const WALFERRY_NODE_FLAGS = ["--max-semi-space-size=8"]

/** walferry as a real process, configured from a temporary YAML file; its RSS is sampled every 200 ms */
export const startWalferry = async (yaml: (apiPort: number) => string): Promise<WalferryChild> => {
  const dir = mkdtempSync(join(tmpdir(), "walferry-bench-"))
  const port = await freePort()
  writeFileSync(join(dir, "walferry.yaml"), yaml(port))
  const child: ChildProcess = spawn(
    process.execPath,
    [...WALFERRY_NODE_FLAGS, ...nodeArgs(), "bin/walferry.js", "run", "--config", join(dir, "walferry.yaml")],
    {
      stdio: ["ignore", process.env.BENCH_STDOUT ? "inherit" : "ignore", "inherit"],
      env: { ...process.env, WALFERRY_LOG__LEVEL: "warning" }
    }
  )
  let maxRss = 0
  let lastRss = 0
  const sampler = setInterval(async () => {
    try {
      const { readFileSync } = await import("node:fs")
      const m = /VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"))
      if (m) {
        lastRss = Number(m[1]) / 1024
        maxRss = Math.max(maxRss, lastRss)
      }
    } catch {
      /* exited */
    }
  }, 200)
  const metrics = () => fetch(`http://127.0.0.1:${port}/metrics`).then((r) => r.text())
  let exitCode: number | null | undefined
  const exited = new Promise<number | null>((r) =>
    child.once("exit", (code) => {
      exitCode = code
      r(code)
    })
  )
  process.once("exit", () => {
    child.kill("SIGKILL")
    rmSync(dir, { recursive: true, force: true })
  })
  /** resolves once every source reports `state` in GET /status */
  const waitState = async (state: string, timeoutMs: number) => {
    const until = Date.now() + timeoutMs
    while (Date.now() < until) {
      if (exitCode !== undefined) throw new Error(`walferry exited (code ${exitCode}) before ${state}`)
      const status = await fetch(`http://127.0.0.1:${port}/status`).then(
        (r) => r.json() as Promise<{ sources: Array<{ state: string }> }>,
        () => undefined
      )
      if (status && status.sources.length > 0 && status.sources.every((s) => s.state === state)) return
      await sleep(100)
    }
    throw new Error(`walferry did not reach ${state} within ${timeoutMs} ms`)
  }
  return {
    stop: async () => {
      child.kill("SIGTERM")
      const code = await exited
      clearInterval(sampler)
      rmSync(dir, { recursive: true, force: true })
      return code
    },
    maxRssMb: () => maxRss,
    rssMb: () => lastRss,
    memory: async () => {
      const text = await metrics()
      const mb = (re: RegExp) => [...text.matchAll(re)].map((m) => `${m[1]} ${fmt(Number(m[2]) / 2 ** 20)}`)
      return [
        ...mb(/^nodejs_heap_space_size_total_bytes\{space="(old|new|code)"\} (\S+)$/gm),
        ...mb(/^nodejs_(external)_memory_bytes (\S+)$/gm)
      ].join(", ")
    },
    batchStats: async () => {
      const text = await metrics()
      const out: Record<string, { batches: number; rows: number }> = {}
      for (const m of text.matchAll(/^walferry_batch_rows_(count|sum)\{table="([^"]+)"\} (\S+)$/gm)) {
        const t = (out[m[2]!] ??= { batches: 0, rows: 0 })
        if (m[1] === "count") t.batches = Number(m[3])
        else t.rows = Number(m[3])
      }
      return out
    },
    waitStreaming: (timeoutMs = 120_000) => waitState("streaming", timeoutMs),
    control: async (action, token) => {
      const res = await fetch(`http://127.0.0.1:${port}/${action}`, {
        method: "POST",
        headers: { authorization: `Bearer ${token}` }
      })
      if (!res.ok) throw new Error(`POST /${action}: ${res.status} ${await res.text()}`)
      if (action === "pause") await waitState("paused", 60_000)
    }
  }
}

export const percentile = (sorted: ReadonlyArray<number>, p: number): number =>
  sorted.length === 0 ? NaN : sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!

export const fmt = (n: number, digits = 0) => n.toLocaleString("en-US", { maximumFractionDigits: digits })
