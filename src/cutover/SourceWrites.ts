/**
 * Blocking and unblocking writes on a source database, for cutover.
 *
 * Block: `ALTER DATABASE <db> SET default_transaction_read_only = on` (new sessions start read-only),
 * then wait up to `drainMs` for open write transactions (sessions holding a transaction id) to finish, then
 * terminate every remaining client session of the database except walferry's own (application_name
 * `walferry*`) and this one, so pools reconnect into read-only sessions. Replication (walsender) sessions
 * are untouched. Needs the database owner or a superuser (ALTER DATABASE) and pg_signal_backend (or
 * superuser) to terminate others' sessions. It is a default, not a lock: a session may still run
 * `SET default_transaction_read_only = off`. Unblock: `ALTER DATABASE <db> RESET default_transaction_read_only`
 * (sessions opened while blocked stay read-only until they reconnect).
 */
import { Effect } from "effect"
import type pg from "pg"
import { quoteIdent, query } from "../lib/Sql.js"

export interface BlockResult {
  readonly database: string
  /** write transactions that finished while waiting */
  readonly drained: number
  /** sessions terminated */
  readonly terminated: number
}

const OTHERS = `from pg_stat_activity
  where datname = current_database() and pid <> pg_backend_pid() and backend_type = 'client backend'
    and coalesce(application_name, '') not like 'walferry%'`

const database = (client: pg.ClientBase) =>
  Effect.map(query<{ db: string }>(client, "select current_database() as db"), (rows) => rows[0]!.db)

export const blockWrites = (client: pg.ClientBase, drainMs: number) =>
  Effect.gen(function* () {
    yield* query(client, "set default_transaction_read_only = off")
    const db = yield* database(client)
    yield* query(client, `alter database ${quoteIdent(db)} set default_transaction_read_only = on`)
    const writers = () =>
      Effect.map(
        query<{ pid: number }>(client, `select pid ${OTHERS} and backend_xid is not null`),
        (rows) => rows.length
      )
    const initial = yield* writers()
    const deadline = Date.now() + drainMs
    let open = initial
    while (open > 0 && Date.now() < deadline) {
      yield* Effect.sleep("100 millis")
      open = yield* writers()
    }
    const killed = yield* query<{ ok: boolean }>(client, `select pg_terminate_backend(pid) as ok ${OTHERS}`)
    return { database: db, drained: initial - open, terminated: killed.filter((k) => k.ok).length } as BlockResult
  })

export const unblockWrites = (client: pg.ClientBase) =>
  Effect.gen(function* () {
    // this session started read-only too
    yield* query(client, "set default_transaction_read_only = off")
    const db = yield* database(client)
    yield* query(client, `alter database ${quoteIdent(db)} reset default_transaction_read_only`)
    return db
  })
