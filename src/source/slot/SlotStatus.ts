/**
 * One replication slot as `pg_replication_slots` shows it, read version-independently (columns added in
 * later majors — wal_status/safe_wal_size 13, conflicting 16, invalidation_reason 17 — are read through
 * `to_jsonb`, so a missing one is simply undefined). Used to validate the slot on start and for metrics.
 */
import { Effect } from "effect"
import type pg from "pg"
import * as Lsn from "../../domain/Lsn.js"
import type { SourceRef, SourceUnreachable } from "../SourceErrors.js"
import { query } from "../../lib/Sql.js"
import { clientConfig, connect, connectionLost } from "../SourceClient.js"
import type { SourceUrl } from "../../config/Config.js"
import { setSlotWal } from "../../telemetry/Metrics.js"

export interface SlotStatus {
  readonly exists: boolean
  readonly active: boolean
  readonly activePid: number | undefined
  readonly confirmedFlushLsn: Lsn.Lsn | undefined
  readonly restartLsn: Lsn.Lsn | undefined
  /** reserved | extended | unreserved | lost (PG13+) */
  readonly walStatus: string | undefined
  /** WAL kept for the slot: current WAL position - restart_lsn */
  readonly retainedBytes: bigint | undefined
  /** bytes the slot may still fall behind before max_slot_wal_keep_size invalidates it (PG13+) */
  readonly safeWalSize: bigint | undefined
  readonly plugin: string | undefined
  readonly slotType: string | undefined
  /** the database the slot belongs to (logical slots are per database) */
  readonly database: string | undefined
  /** why Postgres invalidated the slot: invalidation_reason (PG17+), "conflicting" (PG16), else undefined */
  readonly invalidationReason: string | undefined
}

interface Row {
  readonly slot_type: string | null
  readonly plugin: string | null
  readonly database: string | null
  readonly active: boolean | null
  readonly active_pid: number | null
  readonly restart_lsn: string | null
  readonly confirmed_flush_lsn: string | null
  readonly wal_status: string | null
  readonly safe_wal_size: string | null
  readonly invalidation_reason: string | null
  readonly conflicting: boolean | null
  readonly retained: string | null
}

const SQL = `
select j->>'slot_type' as slot_type, j->>'plugin' as plugin, j->>'database' as database,
  (j->>'active')::bool as active, (j->>'active_pid')::int as active_pid,
  j->>'restart_lsn' as restart_lsn, j->>'confirmed_flush_lsn' as confirmed_flush_lsn,
  j->>'wal_status' as wal_status, j->>'safe_wal_size' as safe_wal_size,
  j->>'invalidation_reason' as invalidation_reason, (j->>'conflicting')::bool as conflicting, retained
from (
  select to_jsonb(s) as j,
    ((case when pg_is_in_recovery() then pg_last_wal_replay_lsn() else pg_current_wal_lsn() end) - s.restart_lsn)::text
      as retained
  from pg_replication_slots s where s.slot_name = $1
) x`

const missing: SlotStatus = {
  exists: false,
  active: false,
  activePid: undefined,
  confirmedFlushLsn: undefined,
  restartLsn: undefined,
  walStatus: undefined,
  retainedBytes: undefined,
  safeWalSize: undefined,
  plugin: undefined,
  slotType: undefined,
  database: undefined,
  invalidationReason: undefined
}

const lsn = (text: string | null) => (text === null ? undefined : Lsn.parse(text))
const bytes = (text: string | null) => (text === null ? undefined : BigInt(text.split(".")[0]!))
const opt = <A>(value: A | null): A | undefined => (value === null ? undefined : value)

const fromRow = (row: Row): SlotStatus => ({
  exists: true,
  active: row.active === true,
  activePid: opt(row.active_pid),
  confirmedFlushLsn: lsn(row.confirmed_flush_lsn),
  restartLsn: lsn(row.restart_lsn),
  walStatus: opt(row.wal_status),
  retainedBytes: bytes(row.retained),
  safeWalSize: bytes(row.safe_wal_size),
  plugin: opt(row.plugin),
  slotType: opt(row.slot_type),
  database: opt(row.database),
  invalidationReason: opt(row.invalidation_reason) ?? (row.conflicting === true ? "conflicting" : undefined)
})

export const slotStatus = (
  client: pg.Client,
  slotName: string,
  ref?: SourceRef
): Effect.Effect<SlotStatus, SourceUnreachable> =>
  query<Row>(client, SQL, [slotName]).pipe(
    Effect.mapError(connectionLost(client, ref)),
    Effect.map((rows) => (rows[0] === undefined ? missing : fromRow(rows[0])))
  )

/** WAL kept by the slot and how much more it may keep, for metrics and status, every 10 s */
export const pollSlot = (database: string, url: SourceUrl, slot: string) =>
  Effect.scoped(
    Effect.gen(function* () {
      const ref = { database, sid: url.sid }
      const client = yield* connect(clientConfig(url.url, `walferry_${database}_monitor`), ref)
      while (true) {
        const st = yield* slotStatus(client, slot, ref)
        setSlotWal(database, url.sid, st.retainedBytes, st.safeWalSize)
        yield* Effect.sleep("10 seconds")
      }
    })
  ).pipe(Effect.catchAll((e) => Effect.logDebug(`slot monitor stopped: ${e.message}`)))
