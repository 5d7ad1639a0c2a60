/**
 * A physical standby of an embedded primary, for failover tests and demos (the npm server packages ship no
 * pg_basebackup). The base backup is the low-level API: a physical slot reserving WAL, `pg_backup_start` on
 * one session, a plain copy of the live data directory (without WAL, slots and runtime files), then
 * `pg_backup_stop` on the same session for `backup_label`. The standby streams every WAL record from the
 * backup's redo point through that slot. On 17+ it synchronises failover slots (`sync_replication_slots`,
 * `hot_standby_feedback`, `dbname` in `primary_conninfo`); it is never given `synchronized_standby_slots`,
 * so after `promote` its logical walsenders wait for nobody. The primary must run with
 * `primaryStandbySettings` (wal_level logical, and on 17+ `synchronized_standby_slots` naming the slot).
 */
import { copyFileSync, mkdirSync, readdirSync, statSync, writeFileSync } from "node:fs"
import { join } from "node:path"
import pg from "pg"
import { startPgServer, type PgServer } from "./PgServer.js"

/** runtime files and directories a base backup leaves out (directories are kept, empty) */
const SKIP_FILES = new Set([
  "postmaster.pid",
  "postmaster.opts",
  "backup_label",
  "tablespace_map",
  "backup_manifest",
  "postgresql.auto.conf.tmp",
  "current_logfiles.tmp",
  "standby.signal",
  "recovery.signal",
  "pg_internal.init"
])
const EMPTY_DIRS = new Set([
  "pg_wal",
  "pg_replslot",
  "pg_dynshmem",
  "pg_notify",
  "pg_serial",
  "pg_snapshots",
  "pg_stat_tmp",
  "pg_subtrans"
])

const vanished = (e: unknown) => (e as { code?: unknown }).code === "ENOENT"

/** copies a live data directory: files may vanish or change meanwhile (backup_label and WAL replay fix that) */
const copyTree = (from: string, to: string, top: boolean) => {
  for (const name of readdirSync(from)) {
    if (SKIP_FILES.has(name)) continue
    const src = join(from, name)
    const dst = join(to, name)
    try {
      if (statSync(src).isDirectory()) {
        mkdirSync(dst, { recursive: true, mode: 0o700 })
        if (!(top && EMPTY_DIRS.has(name))) copyTree(src, dst, false)
      } else copyFileSync(src, dst)
    } catch (e) {
      if (!vanished(e)) throw e
    }
  }
}

/** settings a primary needs so that `standbySlot`'s standby can carry its failover slots */
export const primaryStandbySettings = (version: number, standbySlot = "standby1"): Record<string, string> =>
  version >= 17 ? { synchronized_standby_slots: standbySlot } : {}

export interface Standby extends PgServer {
  /** the physical slot on the primary that the standby streams through */
  readonly slot: string
  /** waits until the standby replayed everything the primary has flushed */
  readonly caughtUp: (primary: PgServer, timeoutMs?: number) => Promise<void>
  /** `pg_promote(true, 60)`: the standby becomes a primary on a new timeline */
  readonly promote: () => Promise<void>
}

export interface StandbyOptions {
  /** physical slot and application name (default standby1) */
  readonly slot?: string
  /** further settings of the standby */
  readonly settings?: Readonly<Record<string, string | number>>
}

const baseBackup = async (primary: PgServer, slot: string, dataDir: string) => {
  await primary.query(
    `select pg_create_physical_replication_slot($1, true)
      where not exists (select 1 from pg_replication_slots where slot_name = $1)`,
    [slot]
  )
  const client = new pg.Client({ connectionString: primary.url() })
  client.on("error", () => undefined)
  await client.connect()
  try {
    await client.query("select pg_backup_start('walferry standby', true)")
    copyTree(primary.dataDir, dataDir, true)
    const { rows } = await client.query<{ labelfile: string; spcmapfile: string | null }>(
      "select labelfile, spcmapfile from pg_backup_stop(false)"
    )
    writeFileSync(join(dataDir, "backup_label"), rows[0]!.labelfile)
    if (rows[0]!.spcmapfile) writeFileSync(join(dataDir, "tablespace_map"), rows[0]!.spcmapfile)
    writeFileSync(join(dataDir, "standby.signal"), "")
  } finally {
    await client.end().catch(() => undefined)
  }
}

/** makes and starts a physical standby of `primary` (same version); on 17+ it synchronises failover slots */
export const startStandby = async (primary: PgServer, options: StandbyOptions = {}): Promise<Standby> => {
  const slot = options.slot ?? "standby1"
  const conninfo = `host=127.0.0.1 port=${primary.port} user=postgres dbname=postgres application_name=${slot}`
  const sync =
    primary.version >= 17
      ? { sync_replication_slots: "on", synchronized_standby_slots: "", hot_standby_feedback: "on" }
      : { hot_standby_feedback: "on" }
  const server = await startPgServer({
    version: primary.version,
    prepareDataDir: (dir) => baseBackup(primary, slot, dir),
    settings: { primary_conninfo: conninfo, primary_slot_name: slot, ...sync, ...options.settings }
  })
  const caughtUp = async (from: PgServer, timeoutMs = 30_000) => {
    const [{ lsn }] = await from.query<{ lsn: string }>("select pg_current_wal_flush_lsn()::text as lsn")
    const until = Date.now() + timeoutMs
    while (Date.now() < until) {
      const [r] = await server.query<{ ok: boolean }>("select pg_last_wal_replay_lsn() >= $1::pg_lsn as ok", [lsn])
      if (r?.ok) return
      await new Promise((r) => setTimeout(r, 50))
    }
    throw new Error(`standby on port ${server.port} did not replay up to ${lsn} within ${timeoutMs} ms`)
  }
  const promote = async () => {
    const [r] = await server.query<{ ok: boolean }>("select pg_promote(true, 60) as ok")
    if (r?.ok !== true) throw new Error(`standby on port ${server.port} was not promoted within 60 s`)
  }
  return Object.assign(server, { slot, caughtUp, promote })
}
