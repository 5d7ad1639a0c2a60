/**
 * Before a source's tables are compared: its current WAL position is taken, and while a walferry streams
 * it (its slot is active) verify waits, up to `timeoutMs`, until the slot's confirmed position reaches it,
 * that is until every change committed before verify started is committed on the destination. Ranges that
 * still differ (the source kept writing) are re-checked afterwards (Verify's rounds).
 */
import { Effect } from "effect"
import type { WalferryConfig, SourceGroup, SourceUrl } from "../config/Config.js"
import { slotName } from "../source/Naming.js"
import { poolQuery, type VerifyDb } from "./VerifyDb.js"
import type { CatchUp } from "./VerifyReport.js"

export const awaitCatchUp = (
  config: WalferryConfig,
  group: SourceGroup,
  url: SourceUrl,
  db: VerifyDb,
  timeoutMs: number
) =>
  Effect.gen(function* () {
    const started = Date.now()
    const source = `${group.database}/${url.sid}`
    const slot = slotName(config.naming.prefix, group.database, url.sid)
    const [{ lsn }] = (yield* poolQuery<{ lsn: string }>(
      db.source,
      source,
      "select pg_current_wal_lsn()::text as lsn"
    )) as [{ lsn: string }]
    const done = (state: CatchUp["state"]): CatchUp => ({ source, lsn, state, millis: Date.now() - started })
    for (;;) {
      const rows = yield* poolQuery<{ active: boolean; reached: boolean | null }>(
        db.source,
        source,
        "select active, confirmed_flush_lsn >= $2::pg_lsn as reached from pg_replication_slots where slot_name = $1",
        [slot, lsn]
      )
      const s = rows[0]
      if (s === undefined) return done("no-slot")
      if (s.reached === true) return done("reached")
      if (!s.active) return done("inactive")
      if (Date.now() - started >= timeoutMs) return done("timeout")
      yield* Effect.sleep("200 millis")
    }
  })
