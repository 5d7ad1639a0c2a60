/**
 * Replication origins of destination sessions (kuvasz's `database.origin`, for two-way replication): a
 * session that applies changes runs under origin `walferry_<origin>_<its backend pid>`, so what it writes is
 * WAL-tagged with that origin and a walferry (or a subscription) reading this database with pgoutput
 * `origin 'none'` does not send it back. An origin can be active in one session at a time, hence one per
 * backend; the pid makes the name unique among live sessions, and origins of backends that are gone are
 * dropped when the destination is opened. Needs superuser or EXECUTE on the pg_replication_origin_* functions.
 */
import type pg from "pg"

export const ORIGIN_PREFIX = "walferry_"

/** the origin name of backend `pid` */
export const originName = (origin: string, pid: number): string => `${ORIGIN_PREFIX}${origin}_${pid}`

/** puts a freshly connected session under its own origin (created when missing) */
export const setupOrigin = async (client: pg.ClientBase, origin: string): Promise<string> => {
  const [row] = (await client.query<{ pid: number }>("select pg_backend_pid() as pid")).rows
  const name = originName(origin, row!.pid)
  await client.query(
    "select pg_replication_origin_create($1) where not exists (select from pg_replication_origin where roname = $1)",
    [name]
  )
  await client.query("select pg_replication_origin_session_setup($1)", [name])
  return name
}

/** drops this origin's per-session origins whose backend is gone; how many */
export const dropStaleOrigins = async (client: pg.ClientBase, origin: string): Promise<number> => {
  const { rows } = await client.query<{ roname: string }>(
    `select roname from pg_replication_origin
     where starts_with(roname, $1) and substr(roname, length($1) + 1) ~ '^[0-9]+$'
       and substr(roname, length($1) + 1)::int not in (select pid from pg_stat_activity)`,
    [`${ORIGIN_PREFIX}${origin}_`]
  )
  let dropped = 0
  for (const r of rows) {
    await client
      .query("select pg_replication_origin_drop($1)", [r.roname])
      .then(() => dropped++)
      .catch(() => undefined) // became active meanwhile
  }
  return dropped
}
