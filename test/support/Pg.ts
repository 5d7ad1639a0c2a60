/**
 * What tests use to get a Postgres: a fresh embedded server per call, or, when WALFERRY_TEST_PG_URL
 * is set, fresh databases on that external server (it must run with wal_level=logical). Tests that
 * restart or reconfigure a server check `server.external` and skip.
 */
import { randomBytes } from "node:crypto"
import { Effect, type Scope } from "effect"
import pg from "pg"
import { startPgServer, type PgServer, type PgServerOptions } from "./PgServer.js"

export type TestPg = PgServer

const externalServer = (base: string): TestPg => {
  const created: Array<string> = []
  const suffix = randomBytes(4).toString("hex")
  const urlOf = (database = "postgres") => {
    const u = new URL(base)
    u.pathname = `/${database === "postgres" ? u.pathname.slice(1) || "postgres" : `${database}_${suffix}`}`
    return u.toString()
  }
  const query = async (sql: string, params: ReadonlyArray<unknown> = [], database?: string) => {
    const client = new pg.Client({ connectionString: urlOf(database) })
    await client.connect()
    try {
      return (await client.query(sql, params as Array<unknown>)).rows
    } finally {
      await client.end()
    }
  }
  const unsupported = () => Promise.reject(new Error("not possible on an external server (WALFERRY_TEST_PG_URL)"))
  return {
    external: true,
    version: 17,
    port: Number(new URL(base).port || 5432),
    dataDir: "",
    pid: -1,
    url: urlOf,
    query,
    createDatabase: async (name) => {
      await query(`create database "${name}_${suffix}"`)
      created.push(`${name}_${suffix}`)
      return urlOf(name)
    },
    halt: unsupported,
    restart: unsupported,
    stop: async () => {
      for (const db of created) {
        await query(
          `select pg_drop_replication_slot(slot_name) from pg_replication_slots where database = $1 and not active`,
          [db]
        )
        await query(`drop database if exists "${db}" with (force)`)
      }
    }
  }
}

/** the embedded servers this test process started and has not stopped, for diagnostics */
const live = new Set<PgServer>()

export const startTestPg = async (options: PgServerOptions): Promise<TestPg> => {
  const ext = process.env.WALFERRY_TEST_PG_URL
  if (ext && (options.walLevel ?? "logical") === "logical" && !options.settings) return externalServer(ext)
  const server = await startPgServer(options)
  live.add(server)
  const stop = server.stop
  return Object.assign(server, {
    stop: async () => {
      live.delete(server)
      await stop()
    }
  })
}

/** `n` servers with the same options, started side by side (e.g. a source and a destination) */
export const startTestPgs = (n: number, options: PgServerOptions): Promise<Array<TestPg>> =>
  Promise.all(Array.from({ length: n }, () => startTestPg(options)))

const SESSIONS = `select pid, datname, application_name as app, state, wait_event_type || ':' || wait_event as waiting,
  now() - xact_start as in_xact, pg_blocking_pids(pid) as blocked_by, left(query, 120) as query
  from pg_stat_activity where backend_type = 'client backend' and pid <> pg_backend_pid()`

/** what every live test server is doing (sessions, waits, blockers, its log's tail): printed when a wait times out */
export const serverDiagnostics = async (): Promise<string> => {
  const one = async (server: PgServer) => {
    const client = new pg.Client({ connectionString: server.url(), connectionTimeoutMillis: 3_000 })
    client.on("error", () => undefined)
    const timer = setTimeout(() => void client.end().catch(() => undefined), 5_000)
    let sessions: string
    try {
      await client.connect()
      const { rows } = await client.query(SESSIONS)
      sessions = rows.map((r) => JSON.stringify(r)).join("\n")
    } catch (e) {
      sessions = `no answer within 5 s: ${String(e)}`
    } finally {
      clearTimeout(timer)
      await client.end().catch(() => undefined)
    }
    const log = server.log?.().split("\n").slice(-15).join("\n") ?? ""
    return `--- postgres ${server.version} on port ${server.port} (pid ${server.pid})\n${sessions}\n--- its log:\n${log}`
  }
  return (await Promise.all([...live].map(one))).join("\n")
}

/** scoped: the server (or external databases) is removed when the scope closes, even on failure */
export const testPg = (options: PgServerOptions): Effect.Effect<TestPg, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startTestPg(options)),
    (s) => Effect.promise(() => s.stop().catch(() => undefined))
  )
