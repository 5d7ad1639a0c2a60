/**
 * walferry as a real child process (`node bin/walferry.js run --config FILE`) for fault tests: the YAML
 * config and map file live in a temp dir under os.tmpdir() (removed on stop), the API listens on a free
 * port with a bearer token, and the last output lines are kept for failure messages. `kill` signals the
 * PID (SIGKILL for crash tests, SIGTERM for a graceful stop); `rssMb` reads /proc/<pid>/status and keeps
 * the maximum seen. Every process still alive is SIGKILLed by `stopAllWalferry()` (call it in afterAll)
 * and, as a last resort, when the test process exits.
 */
import { spawn, type ChildProcess } from "node:child_process"
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs"
import { tmpdir } from "node:os"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { stringify } from "yaml"
import { freePort } from "./PgServer.js"

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..")
const BIN = join(ROOT, "bin", "walferry.js")
const KEEP_LINES = 200

/** one group of the kuvasz map.yaml */
export interface MapGroup {
  readonly database: string
  readonly urls: ReadonlyArray<{ readonly url: string; readonly sid: string }>
  /** table key → options (null = defaults) */
  readonly tables: Readonly<Record<string, Record<string, unknown> | null>>
  /** DDL capture of the group (off | capture | remove) */
  readonly ddl?: string
}

export interface WalferryOptions {
  readonly destination: string
  readonly map: ReadonlyArray<MapGroup>
  /** snake_case tuning keys of the YAML file */
  readonly tuning?: Readonly<Record<string, number>>
  readonly logLevel?: "trace" | "debug" | "info" | "warning" | "error"
  readonly autoCreate?: boolean
  /** further top-level sections of the YAML file (e.g. `cluster`, `slots`), snake_case keys */
  readonly extra?: Readonly<Record<string, unknown>>
  /** API port (default: a free one) */
  readonly apiPort?: number
  /** how long `start` waits for /healthz */
  readonly readyTimeoutMs?: number
  /** extra snake_case keys of the `api` section (e.g. series_interval_ms) */
  readonly api?: Readonly<Record<string, unknown>>
  /** listen on this port (default: a free one), e.g. to restart on the same address */
  readonly port?: number
  /** the API token (default: a random one) */
  readonly token?: string
  /** `database`: map_mode database, the mapping in the destination (no map file; `map` is ignored) */
  readonly mapMode?: "database"
  /** lines of output `output()` keeps (default 200), e.g. to check the order of log lines over a whole run */
  readonly keepLines?: number
}

export interface ExitResult {
  readonly code: number | null
  readonly signal: NodeJS.Signals | null
}

export interface WalferryProcess {
  readonly pid: number
  readonly port: number
  readonly token: string
  /** the last ~200 lines of stdout and stderr */
  readonly output: () => string
  readonly exited: () => ExitResult | undefined
  readonly kill: (signal: NodeJS.Signals) => void
  /** resolves with the exit once the process ended; rejects after `timeoutMs` */
  readonly waitExit: (timeoutMs?: number) => Promise<ExitResult>
  /** current resident set in MB (also updates `maxRssMb`); 0 once exited */
  readonly rssMb: () => number
  readonly maxRssMb: () => number
  /** samples RSS every `everyMs` until the returned function is called; it returns the max seen meanwhile */
  readonly sampleRss: (everyMs?: number) => () => number
  readonly status: () => Promise<StatusJson>
  readonly metrics: () => Promise<string>
  /** POST with the bearer token; returns the HTTP status */
  readonly post: (path: string, body?: unknown) => Promise<number>
  /** SIGKILL if still alive, wait for the exit, remove the temp dir */
  readonly stop: () => Promise<void>
}

export interface StatusJson {
  readonly paused: boolean
  readonly cluster?: { readonly runner: string; readonly runnersAlive: ReadonlyArray<string> }
  readonly sources: ReadonlyArray<{
    readonly database: string
    readonly sid: string
    readonly state: string
    readonly error: string | null
    readonly restarts: number
    readonly confirmedLsn: string | null
    readonly receivedLsn: string | null
    readonly owner?: string | null
  }>
  readonly tables: ReadonlyArray<{
    readonly target: string
    readonly state: string
    readonly error: string | null
    readonly rowsApplied: number
    readonly lastLsn: string | null
    readonly mailboxDepth: number
  }>
}

/** every process started and not yet stopped (stopped = killed if needed, temp dir removed) */
const live = new Map<number, { readonly proc: WalferryProcess; readonly dir: string }>()
let hooked = false

const hookExit = () => {
  if (hooked) return
  hooked = true
  process.once("exit", () => {
    for (const [pid, { proc, dir }] of live) {
      if (!proc.exited()) {
        try {
          process.kill(pid, "SIGKILL")
        } catch {
          /* already gone */
        }
      }
      rmSync(dir, { recursive: true, force: true })
    }
  })
}

/** kills (SIGKILL, by PID) and cleans up every walferry process this test file started and did not stop */
export const stopAllWalferry = async (): Promise<void> => {
  await Promise.all([...live.values()].map(({ proc }) => proc.stop()))
}

const childEnv = (): NodeJS.ProcessEnv => {
  const env: NodeJS.ProcessEnv = {}
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith("WALFERRY_")) env[k] = v
  return env
}

const readRssKb = (pid: number): number | undefined => {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))
    return m ? Number(m[1]) : undefined
  } catch {
    return undefined
  }
}

/**
 * Starts walferry and waits for its API. A free port can be taken by another process (a parallel test's
 * walferry, a client's ephemeral port) before walferry binds it: on a port it picked itself it then starts
 * again on another one, up to three times.
 */
export const startWalferry = async (options: WalferryOptions): Promise<WalferryProcess> => {
  const picked = options.port === undefined && options.apiPort === undefined
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOnce(options)
    } catch (e) {
      if (!picked || attempt >= 3 || !/EADDRINUSE/.test(String(e))) throw e
    }
  }
}

const startOnce = async (options: WalferryOptions): Promise<WalferryProcess> => {
  hookExit()
  const dir = mkdtempSync(join(tmpdir(), "walferry-proc-"))
  const port = options.port ?? options.apiPort ?? (await freePort())
  const token = options.token ?? `t${Math.random().toString(36).slice(2)}`
  writeFileSync(join(dir, "map.yaml"), stringify(options.map.map((g) => ({ ...g, urls: [...g.urls] }))))
  const config = {
    destination: { url: options.destination },
    ...(options.mapMode === "database" ? { map_mode: "database" } : { map_file: "./map.yaml" }),
    auto_create: options.autoCreate ?? false,
    tuning: { ...options.tuning },
    api: { ...options.api, listen: `127.0.0.1:${port}`, token },
    log: { level: options.logLevel ?? "info", format: "logfmt" },
    ...options.extra
  }
  const file = join(dir, "walferry.yaml")
  writeFileSync(file, stringify(config))

  const lines: Array<string> = []
  const keep = options.keepLines ?? KEEP_LINES
  const partial = { out: "", err: "" }
  const collect = (which: "out" | "err") => (chunk: Buffer) => {
    const text = partial[which] + chunk.toString("utf8")
    const parts = text.split("\n")
    partial[which] = parts.pop() ?? ""
    for (const l of parts) lines.push(which === "err" ? `[stderr] ${l}` : l)
    if (lines.length > keep) lines.splice(0, lines.length - keep)
    if (process.env.WALFERRY_TEST_LOGS) for (const l of parts) process.stderr.write(`[walferry ${child.pid}] ${l}\n`)
  }
  const child: ChildProcess = spawn(process.execPath, [BIN, "run", "--config", file], {
    cwd: ROOT,
    env: childEnv(),
    stdio: ["ignore", "pipe", "pipe"]
  })
  child.stdout?.on("data", collect("out"))
  child.stderr?.on("data", collect("err"))
  const pid = child.pid
  if (pid === undefined) throw new Error("walferry did not start")

  let exit: ExitResult | undefined
  const exitPromise = new Promise<ExitResult>((resolve) => {
    child.once("exit", (code, signal) => {
      exit = { code, signal }
      resolve(exit)
    })
  })
  let maxRss = 0
  const output = () => [...lines, partial.out, partial.err].filter((l) => l !== "").join("\n")
  const base = `http://127.0.0.1:${port}`

  const rssMb = () => {
    if (exit) return 0
    const kb = readRssKb(pid)
    if (kb === undefined) return 0
    const mb = kb / 1024
    if (mb > maxRss) maxRss = mb
    return mb
  }

  const request = async (path: string, init: RequestInit = {}) => {
    const res = await fetch(`${base}${path}`, { ...init, signal: AbortSignal.timeout(5_000) })
    return res
  }

  const proc: WalferryProcess = {
    pid,
    port,
    token,
    output,
    exited: () => exit,
    kill: (signal) => {
      if (exit) return
      try {
        process.kill(pid, signal)
      } catch {
        /* already gone */
      }
    },
    waitExit: (timeoutMs = 60_000) =>
      new Promise<ExitResult>((resolve, reject) => {
        const timer = setTimeout(
          () => reject(new Error(`walferry ${pid} did not exit within ${timeoutMs} ms\n${output()}`)),
          timeoutMs
        )
        void exitPromise.then((e) => {
          clearTimeout(timer)
          resolve(e)
        })
      }),
    rssMb,
    maxRssMb: () => maxRss,
    sampleRss: (everyMs = 100) => {
      let max = 0
      const take = () => {
        max = Math.max(max, rssMb())
      }
      take()
      const timer = setInterval(take, everyMs)
      return () => {
        clearInterval(timer)
        take()
        return max
      }
    },
    status: async () => {
      const res = await request("/status")
      if (!res.ok) throw new Error(`GET /status: HTTP ${res.status}`)
      return (await res.json()) as StatusJson
    },
    metrics: async () => {
      const res = await request("/metrics")
      if (!res.ok) throw new Error(`GET /metrics: HTTP ${res.status}`)
      return res.text()
    },
    post: async (path, body) => {
      const res = await request(path, {
        method: "POST",
        headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
        body: body === undefined ? "" : JSON.stringify(body)
      })
      await res.text()
      return res.status
    },
    stop: async () => {
      if (!exit) {
        try {
          process.kill(pid, "SIGKILL")
        } catch {
          /* already gone */
        }
        await Promise.race([exitPromise, new Promise((r) => setTimeout(r, 10_000))])
      }
      live.delete(pid)
      rmSync(dir, { recursive: true, force: true })
    }
  }
  live.set(pid, { proc, dir })

  const until = Date.now() + (options.readyTimeoutMs ?? 60_000)
  const logsInfo = ["info", "debug", "trace", "all"].includes(config.log.level)
  while (true) {
    if (exit) {
      await proc.stop()
      throw new Error(`walferry exited during start (code ${exit.code}, signal ${exit.signal}):\n${output()}`)
    }
    try {
      // another process may answer on the port; at info level walferry's own "Listening on" line tells them apart
      const res = await request("/healthz")
      if (res.ok && (!logsInfo || output().includes(`Listening on http://127.0.0.1:${port}`))) break
    } catch {
      /* not listening yet */
    }
    if (Date.now() > until) {
      await proc.stop()
      throw new Error(`walferry API not up within ${options.readyTimeoutMs ?? 60_000} ms:\n${output()}`)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  return proc
}

/** waits until every source of the process reports `streaming` */
export const waitStreaming = async (proc: WalferryProcess, timeoutMs = 60_000): Promise<void> => {
  const until = Date.now() + timeoutMs
  let last = ""
  while (Date.now() < until) {
    if (proc.exited()) throw new Error(`walferry exited while waiting for streaming:\n${proc.output()}`)
    try {
      const s = await proc.status()
      last = JSON.stringify(s.sources)
      if (s.sources.length > 0 && s.sources.every((x) => x.state === "streaming")) return
    } catch (e) {
      last = String(e)
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`walferry sources not streaming within ${timeoutMs} ms (${last}):\n${proc.output()}`)
}

// ---- helpers shared by the fault tests ----

export const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms))

/** "16/B374D848" → bigint, for comparisons */
export const lsnOf = (text: string | null | undefined): bigint => {
  if (!text) return 0n
  const [hi, lo] = text.split("/")
  return (BigInt(`0x${hi}`) << 32n) | BigInt(`0x${lo}`)
}

/** bigint → "16/B374D848" */
export const formatLsn = (lsn: bigint): string =>
  `${(lsn >> 32n).toString(16).toUpperCase()}/${(lsn & 0xffffffffn).toString(16).toUpperCase()}`

export interface SlotInfo {
  readonly active: boolean
  readonly confirmed: bigint
  readonly restart: bigint
  readonly confirmedText: string
}

/** the slot's row in pg_replication_slots, or undefined when it does not exist */
export const slotInfo = async (
  server: { readonly query: (sql: string, params?: ReadonlyArray<unknown>, db?: string) => Promise<Array<any>> },
  slot: string
): Promise<SlotInfo | undefined> => {
  const rows = await server.query(
    `select active, confirmed_flush_lsn::text as c, restart_lsn::text as r
       from pg_replication_slots where slot_name = $1`,
    [slot]
  )
  const r = rows[0]
  return r ? { active: r.active, confirmed: lsnOf(r.c), restart: lsnOf(r.r), confirmedText: r.c } : undefined
}

/** row count and md5 of every row's text form in `orderBy` order: equal digests mean equal tables */
export const tableDigest = async (
  server: { readonly query: (sql: string, params?: ReadonlyArray<unknown>, db?: string) => Promise<Array<any>> },
  db: string,
  table: string,
  orderBy: string
): Promise<string> => {
  const rows = await server.query(
    `select count(*)::bigint as n, coalesce(md5(string_agg(t::text, ',' order by ${orderBy})), '-') as h
       from ${table} t`,
    [],
    db
  )
  return `${table}: ${rows[0].n} rows, md5 ${rows[0].h}`
}

/** small seeded PRNG (mulberry32): failures can be replayed with WALFERRY_TEST_SEED */
export const seededRandom = (seed: number) => {
  let a = seed >>> 0
  return () => {
    a = (a + 0x6d2b79f5) >>> 0
    let t = a
    t = Math.imul(t ^ (t >>> 15), t | 1)
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61)
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296
  }
}

export const testSeed = (): number => {
  const env = Number(process.env.WALFERRY_TEST_SEED)
  return Number.isFinite(env) && env > 0 ? env : Math.floor(Math.random() * 2 ** 31) + 1
}
