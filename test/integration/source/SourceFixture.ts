/** Shared set-up of the slot/publication tests: one embedded server per version, one database per test. */
import { afterAll, beforeAll } from "@effect/vitest"
import { Effect, Exit, Redacted, Scope } from "effect"
import type { TableMapping } from "../../../src/config/Config.js"
import { prepareSource, type SourceSetup } from "../../../src/source/slot/SlotManager.js"
import type { SourceError } from "../../../src/source/SourceErrors.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import type { PgVersion } from "../../support/PgServer.js"

export const PREFIX = "walferry"

const SETUP = `
  create table a (id int primary key, v text);
  create table b (id int primary key);
  create table c (id int primary key);
  create table events (id int, at date, primary key (id, at)) partition by range (at);
  create table events_2024 partition of events for values from ('2024-01-01') to ('2025-01-01');
  create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01');
`

export const table = (name: string): TableMapping => ({
  schema: "public",
  name,
  mode: "clone",
  target: name,
  partitionsRegex: undefined,
  autoCreate: false,
  history: { start: "valid_from", end: "valid_to", deleted: "deleted", lsn: "lsn" }
})

const options = (url: string, database: string, tables: ReadonlyArray<string>) => ({
  database,
  sid: "s1",
  url: Redacted.make(url),
  prefix: PREFIX,
  tables: tables.map(table)
})

/** prepares and keeps the scope (and so an exported snapshot) open until `close` */
export const open = async (url: string, database: string, tables: ReadonlyArray<string>) => {
  const scope = Effect.runSync(Scope.make())
  const close = () => Effect.runPromise(Scope.close(scope, Exit.void))
  const setup = await Effect.runPromise(Scope.extend(prepareSource(options(url, database, tables)), scope)).catch(
    async (e) => {
      await close()
      throw e
    }
  )
  return { setup, close }
}

export const prepare = (url: string, database: string, tables: ReadonlyArray<string>): Promise<SourceSetup> =>
  Effect.runPromise(Effect.scoped(prepareSource(options(url, database, tables))))

export const failure = (url: string, database: string, tables: ReadonlyArray<string>): Promise<SourceError> =>
  Effect.runPromise(Effect.flip(Effect.scoped(prepareSource(options(url, database, tables)))))

export const names = (ts: ReadonlyArray<TableMapping>) => ts.map((t) => t.name).sort()

/** call inside a `describe`: starts the server before its tests and stops it after */
export const useSourceServer = (version: PgVersion) => {
  let server: TestPg | undefined
  beforeAll(async () => {
    server = await startTestPg({ version })
  })
  afterAll(async () => {
    await server?.stop()
  })
  const pg = () => server!
  return {
    pg,
    /** a fresh database with the test tables; returns its URL */
    source: async (db: string) => {
      const url = await pg().createDatabase(db)
      await pg().query(SETUP, [], db)
      return url
    },
    published: async (db: string, pub: string) => {
      const sql = "select tablename as t from pg_publication_tables where pubname = $1"
      return (await pg().query<{ t: string }>(sql, [pub], db)).map((r) => r.t).sort()
    },
    slots: (db: string, slot: string) => {
      const sql = "select slot_name, plugin, slot_type, database from pg_replication_slots where slot_name = $1"
      return pg().query(sql, [slot], db)
    },
    /** the slot's pending pgoutput messages (v1) for the publication of the same name, without consuming them */
    peek: (db: string, slot: string) =>
      pg().query<{ lsn: string; data: Buffer }>(
        `select lsn::text as lsn, data from pg_logical_slot_peek_binary_changes($1, NULL, NULL,
           'proto_version', '1', 'publication_names', $2)`,
        [slot, slot],
        db
      )
  }
}
