/**
 * The connections of one verify run: a pool per source URL and one for the destination, each at most
 * `parallelism` connections, all opened with the same session settings (HashSql.SESSION_OPTIONS) so both
 * sides print values alike; closed when the scope ends. Failures are typed (VerifyFailed) and name the table.
 */
import { Data, Effect, Redacted, type Scope } from "effect"
import pg from "pg"
import { SESSION_OPTIONS } from "./HashSql.js"
import { connectConfig } from "../lib/ConnectConfig.js"
import { resolvePrefer } from "../lib/SslMode.js"

export class VerifyFailed extends Data.TaggedError("VerifyFailed")<{
  readonly table: string
  readonly message: string
}> {}

/** a bad request (unknown table, bad option): the command exits 2 */
export class VerifyUsageError extends Data.TaggedError("VerifyUsageError")<{ readonly message: string }> {}

export interface VerifyDb {
  readonly source: pg.Pool
  readonly destination: pg.Pool
}

export const openPool = (
  url: Redacted.Redacted<string>,
  max: number,
  name: string
): Effect.Effect<pg.Pool, never, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.promise(async () => {
      const connectionString = await resolvePrefer(Redacted.value(url))
      const pool = new pg.Pool(
        connectConfig({ connectionString, options: SESSION_OPTIONS, application_name: name, max })
      )
      pool.on("error", () => undefined)
      return pool
    }),
    (pool) => Effect.promise(() => pool.end().catch(() => undefined))
  )

const failure = (table: string) => (cause: unknown) =>
  new VerifyFailed({ table, message: cause instanceof Error ? cause.message : String(cause) })

/** one statement on a pooled connection */
export const poolQuery = <R extends pg.QueryResultRow>(
  pool: pg.Pool,
  table: string,
  sql: string,
  params: ReadonlyArray<unknown> = []
): Effect.Effect<Array<R>, VerifyFailed> =>
  Effect.tryPromise({
    try: () => pool.query<R>(sql, params as Array<unknown>).then((r) => r.rows),
    catch: failure(table)
  })

/** a pooled connection for `use`, released (and discarded when `use` failed) afterwards */
export const withClient = <A, E, R>(
  pool: pg.Pool,
  table: string,
  use: (client: pg.PoolClient) => Effect.Effect<A, E, R>
): Effect.Effect<A, E | VerifyFailed, R> =>
  Effect.acquireUseRelease(
    Effect.tryPromise({ try: () => pool.connect(), catch: failure(table) }),
    use,
    (client, exit) => Effect.sync(() => client.release(exit._tag === "Failure"))
  )

/** a promise step, its failure typed */
export const attempt = <A>(table: string, f: () => Promise<A>): Effect.Effect<A, VerifyFailed> =>
  Effect.tryPromise({ try: f, catch: failure(table) })
