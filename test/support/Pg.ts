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

export const startTestPg = async (options: PgServerOptions): Promise<TestPg> => {
  const ext = process.env.WALFERRY_TEST_PG_URL
  if (ext && (options.walLevel ?? "logical") === "logical" && !options.settings) return externalServer(ext)
  return startPgServer(options)
}

/** scoped: the server (or external databases) is removed when the scope closes, even on failure */
export const testPg = (options: PgServerOptions): Effect.Effect<TestPg, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(() => startTestPg(options)),
    (s) => Effect.promise(() => s.stop().catch(() => undefined))
  )
