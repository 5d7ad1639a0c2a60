/**
 * `--repair`: copies the differing ranges again, through the initial copy's chunk copy (ChunkCopy: the
 * source's `COPY (select …) TO` piped into the destination, sid and columns as mapped), one destination
 * transaction per range:
 * - clone: this sid's rows of the range are deleted, then the range is copied in (a keyless table: its
 *   whole slice);
 * - append: the range is upsert-copied on the destination key, so missing rows come back, different ones
 *   are overwritten and rows the source no longer has stay;
 * - history: the whole slice is reconciled with the source (ChunkCopy's `reconcile` landing, as a resync
 *   does: an open version that differs is closed and a new one opened, one whose key the source no longer
 *   has is closed as deleted, equal ones are untouched), since that merge works on whole slices.
 * While walferry streams, the online copy's watermark path cannot be used from here: its windows live in
 * the running engine's process. Instead each transaction first locks the destination table (SHARE ROW
 * EXCLUSIVE: the writer's next batch waits, readers do not) and only then reads the source, so every change
 * committed on the source after that read is applied by the writer after the repair commits, and one
 * committed before it is already in the copied rows (replaying it later ends in the same state).
 */
import { Effect } from "effect"
import { copyChunk } from "../sync/copy/ChunkCopy.js"
import { clearTarget } from "../sync/SyncSql.js"
import type { Throttle } from "../sync/SyncThrottle.js"
import type { Leaf } from "./Narrowing.js"
import type { RepairSummary } from "./VerifyReport.js"
import { attempt, withClient, type VerifyDb } from "./VerifyDb.js"
import type { VerifyTable } from "./VerifyTable.js"

const UNLIMITED: Throttle = { limited: false, countsRows: false, take: () => Promise.resolve() }

/** why `t` cannot be repaired, or undefined */
export const cannotRepair = (t: VerifyTable): string | undefined => {
  if (t.mode === "history" && t.sync.reconcile === undefined)
    return "existing_rows: truncate is set for this history target (no reconcile); resync it instead"
  if (t.mode === "append" && t.key.length === 0) return "an append table without a key cannot be upserted into"
  if (t.mode === "append" && t.sync.conflict.length === 0)
    return `${t.sync.destSql} has no primary or unique key on the mapped columns to upsert on`
  return undefined
}

const repairOne = (db: VerifyDb, t: VerifyTable, condition: string) =>
  withClient(db.destination, t.label, (dst) =>
    withClient(db.source, t.label, (src) =>
      attempt(t.label, async () => {
        await dst.query("begin")
        try {
          await dst.query(`lock table ${t.sync.destSql} in share row exclusive mode`)
          const [now] = (await src.query<{ at: string }>("select now()::text as at")).rows
          if (t.mode === "clone") {
            if (t.key.length === 0) await clearTarget(dst, t.sync, t.sid ?? "")
            else {
              const filter = t.destinationSide.filter === "true" ? "" : `${t.destinationSide.filter} and `
              await dst.query(`delete from ${t.sync.destSql} where ${filter}${condition}`, [
                ...t.destinationSide.params
              ])
            }
          }
          const copied = await copyChunk({
            src,
            dst,
            table: t.sync,
            where: condition === "true" ? "" : ` where ${condition}`,
            landing: t.mode === "clone" ? "copy" : t.mode === "append" ? "upsert" : "reconcile",
            throttle: UNLIMITED,
            live: { rows: 0, bytes: 0 },
            slice: { sid: t.sid ?? "", at: now!.at }
          })
          await dst.query("commit")
          return copied.rows
        } catch (e) {
          await dst.query("rollback").catch(() => undefined)
          throw e
        }
      })
    )
  )

/** re-copies the ranges of `leaves` that hold differences */
export const repairTable = (db: VerifyDb, t: VerifyTable, leaves: ReadonlyArray<Leaf>) =>
  Effect.gen(function* () {
    const skipped = cannotRepair(t)
    if (skipped !== undefined) return { ranges: 0, rows: 0, skipped } satisfies RepairSummary
    const todo = leaves.filter((l) => l.diffs.length > 0)
    const whole = t.key.length === 0 || t.mode === "history"
    const ranges = whole ? (todo.length > 0 ? ["true"] : []) : todo.map((l) => l.condition)
    let rows = 0
    for (const condition of ranges) rows += yield* repairOne(db, t, condition)
    return { ranges: ranges.length, rows } satisfies RepairSummary
  })
