/**
 * Creates the logical slot on a replication connection and keeps the snapshot it exports alive, so the
 * initial copy can read the tables exactly as of the slot's consistent point: another connection runs
 * `BEGIN ISOLATION LEVEL REPEATABLE READ; SET TRANSACTION SNAPSHOT '<snapshotName>'` and sees every
 * transaction committed before `consistentPoint` and none after; the slot streams the ones after.
 * The snapshot is importable until `release` closes the replication connection.
 */
import { Effect, Exit, type Scope } from "effect"
import pg from "pg"
import type { FailoverSlots } from "../../config/Config.js"
import * as Lsn from "../../domain/Lsn.js"
import { quoteIdent } from "../../lib/Sql.js"
import { closeClient } from "../../lib/closeClient.js"
import { connectConfig } from "../../lib/ConnectConfig.js"
import { describeCause, SlotCreateFailed, type SourceRef, type SourceUnreachable } from "../SourceErrors.js"
import { unreachable } from "../SourceClient.js"

export interface SlotSnapshot {
  readonly slotName: string
  readonly consistentPoint: Lsn.Lsn
  readonly snapshotName: string
  /**
   * the source's clock just before the slot was created (timestamptz text, UTC): no transaction the slot
   * streams committed earlier, so history versions the copy opens or closes take this time
   */
  readonly startedAt: string
  /**
   * closes the replication connection, bounded in time (lib/closeClient): the snapshot can no longer be
   * imported (idempotent)
   */
  readonly release: Effect.Effect<void>
}

interface CreatedRow {
  readonly slot_name: string
  readonly consistent_point: string
  readonly snapshot_name: string | null
}

/** exact and independent of the session's TimeZone and DateStyle */
export const CLOCK_SQL = `select to_char(clock_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as t`

const refOf = (config: pg.ClientConfig, ref?: SourceRef): SourceRef =>
  ref ?? { database: config.database ?? "", sid: "" }

/**
 * `CREATE_REPLICATION_SLOT "slot" LOGICAL pgoutput EXPORT_SNAPSHOT` (accepted by 13–18), or on 17+ with `failover`
 * not off `… (SNAPSHOT 'export', FAILOVER true)` (a failover slot: standbys can synchronise it), on a new replication
 * connection made from `config`. Waits for transactions running on the source to finish, as Postgres must.
 */
export const createSlotWithSnapshot = (
  config: pg.ClientConfig,
  slotName: string,
  ref?: SourceRef,
  failover: FailoverSlots = "off"
): Effect.Effect<SlotSnapshot, SourceUnreachable | SlotCreateFailed> =>
  Effect.suspend(() => {
    const source = refOf(config, ref)
    const failed = (reason: string) =>
      new SlotCreateFailed({ database: source.database, sid: source.sid, slot: slotName, reason })
    const client = new pg.Client(connectConfig({ ...config, replication: "database" } as pg.ClientConfig))
    client.on("error", () => undefined)
    const release = closeClient(client)
    return Effect.gen(function* () {
      yield* Effect.tryPromise({ try: () => client.connect(), catch: (cause) => unreachable(config, source, cause) })
      const clock = yield* Effect.tryPromise({
        try: () => client.query<{ t: string }>(CLOCK_SQL),
        catch: (cause) => failed(describeCause(cause))
      })
      const version = yield* Effect.tryPromise({
        try: () => client.query<{ server_version_num: string }>("SHOW server_version_num"),
        catch: (cause) => failed(describeCause(cause))
      }).pipe(Effect.map((r) => Number(r.rows[0]?.server_version_num ?? 0)))
      if (failover === "on" && version < 170000) {
        return yield* failed("slots.failover is on but failover slots need Postgres 17 or newer")
      }
      // 17+: the option-list form; FAILOVER lets a standby with sync_replication_slots carry the slot
      const sql =
        failover !== "off" && version >= 170000
          ? `CREATE_REPLICATION_SLOT ${quoteIdent(slotName)} LOGICAL pgoutput (SNAPSHOT 'export', FAILOVER true)`
          : `CREATE_REPLICATION_SLOT ${quoteIdent(slotName)} LOGICAL pgoutput EXPORT_SNAPSHOT`
      const result = yield* Effect.tryPromise({
        try: () => client.query<CreatedRow>(sql),
        catch: (cause) => failed(describeCause(cause))
      })
      const row = result.rows[0]
      if (row === undefined || row.snapshot_name === null) {
        return yield* failed("the server returned no exported snapshot")
      }
      const created: SlotSnapshot = {
        slotName: row.slot_name,
        consistentPoint: Lsn.parse(row.consistent_point),
        snapshotName: row.snapshot_name,
        startedAt: clock.rows[0]!.t,
        release
      }
      return created
    }).pipe(
      // failed or interrupted: closing the connection also aborts a creation still waiting for running transactions
      Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : release))
    )
  })

/** the same, scoped: the snapshot is released when the scope closes; waiting for the slot stays interruptible */
export const slotWithSnapshot = (
  config: pg.ClientConfig,
  slotName: string,
  ref?: SourceRef,
  failover: FailoverSlots = "off"
): Effect.Effect<SlotSnapshot, SourceUnreachable | SlotCreateFailed, Scope.Scope> =>
  Effect.uninterruptibleMask((restore) =>
    Effect.tap(restore(createSlotWithSnapshot(config, slotName, ref, failover)), (snapshot) =>
      Effect.addFinalizer(() => snapshot.release)
    )
  )
