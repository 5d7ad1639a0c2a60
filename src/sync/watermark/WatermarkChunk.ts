/**
 * One chunk copied while the source streams (DBLog / Flink CDC incremental snapshot):
 *   1. LW: insert a watermark row (own transaction). The dispatcher starts holding the table's changes when
 *      it meets the row in the stream.
 *   2. Once the LW is seen, read the chunk in a new REPEATABLE READ transaction: its snapshot S is taken
 *      after the LW committed. Race check: every transaction the stream delivered before the LW and that
 *      touched the table must be visible in S (a commit record can precede the LW while its transaction is
 *      still running for snapshots); if not, close the window and try again.
 *   3. Upsert the chunk (S's rows) into the target and mark it done, in one destination transaction.
 *   4. HW: delete the watermark row. At the HW the held changes go to the writer, after the chunk rows.
 * Per key this applies, in order: the stream's changes before the LW (all visible in S, so the chunk row
 * is at least as new), the chunk row, then every change between LW and HW again (replaying a visible one
 * on a row that already has it ends in the same row; the others are newer). Columns and existence thus
 * end as in the source. A table without a key, or with an append or history target, is one whole-table
 * chunk: its writer first commits every change dispatched before the LW, the chunk lands (replacing the
 * table or the sid's rows unless an append target keeps them; a history target reconciles its versions
 * with it at the snapshot's time), and held changes of transactions visible in
 * S are dropped rather than replayed (rows cannot be matched by key, or a replay would add a version).
 */
import { randomUUID } from "node:crypto"
import { Deferred, Effect } from "effect"
import type pg from "pg"
import * as Lsn from "../../domain/Lsn.js"
import { writeRetry } from "../../flow/Policies.js"
import { recordSyncCopy } from "../../telemetry/Metrics.js"
import { isApplied, type Position } from "../../sink/Sink.js"
import { copyChunk } from "../copy/ChunkCopy.js"
import { logReconciled } from "../HistoryReconcile.js"
import { forgetMissing } from "./MissingRows.js"
import { connectFor, step, type SyncContext } from "../SyncContext.js"
import type { TableProgress } from "../SyncProgress.js"
import { markChunkDone } from "../SyncStore.js"
import { CopyFailed, type SyncTable } from "../SyncTable.js"
import { clearTarget } from "../SyncSql.js"
import { parseSnapshot, WATERMARK_SCHEMA, WATERMARK_TABLE, type WatermarkWindows } from "./WatermarkWindows.js"

export interface WatermarkChunk {
  readonly table: SyncTable
  readonly chunk: number
  readonly chunks: number
  readonly where: string
  readonly progress: TableProgress
  /** rows read again (sync/watermark/MissingRows): these records are forgotten instead of a chunk marked done */
  readonly missing?: ReadonlyArray<string>
}

const MARKS = `"${WATERMARK_SCHEMA}"."${WATERMARK_TABLE}"`
const MAX_RACES = 20
const SNAPSHOT_SQL =
  "select pg_current_snapshot()::text as s, " +
  "to_char(statement_timestamp() at time zone 'UTC', 'YYYY-MM-DD HH24:MI:SS.US') || '+00' as t"

/** waits until the writer of `t` committed every change of this source up to `last` */
export const awaitWriter = (ctx: SyncContext, dst: pg.Client, t: SyncTable, last: Position | undefined) =>
  Effect.gen(function* () {
    if (last === undefined) return
    while (true) {
      const { rows } = yield* step(t.label, () =>
        dst.query<{ lsn: string; seq: number }>(
          "select lsn::text as lsn, seq from walferry.positions where target = $1 and source = $2",
          [t.target, ctx.source]
        )
      )
      const at = rows[0] && { lsn: Lsn.parse(rows[0].lsn), seq: rows[0].seq }
      if (at && isApplied(at, last.lsn, last.seq)) return
      const status = yield* ctx.writers.byTarget.get(t.target)?.status ?? Effect.succeed(undefined)
      if (status?.state === "stopped") {
        return yield* new CopyFailed({ table: t.label, detail: `its writer stopped: ${status.error}`, transient: true })
      }
      yield* Effect.sleep("50 millis")
    }
  })

/** one attempt: true when the chunk was copied, false when the race check failed */
const attempt = (ctx: SyncContext, windows: WatermarkWindows, control: pg.Client, c: WatermarkChunk) =>
  Effect.scoped(
    Effect.gen(function* () {
      const t = c.table
      const whole = t.whole
      const w = windows.expect(randomUUID(), t.target, whole)
      yield* Effect.addFinalizer(() => Effect.sync(() => windows.abandon(w)))
      const low = step(t.label, () =>
        control.query(`insert into ${MARKS} (id, target, chunk) values ($1, $2, $3)`, [w.id, t.target, c.chunk])
      )
      const high = step(t.label, () => control.query(`delete from ${MARKS} where id = $1`, [w.id]))
      yield* low
      const opened = yield* Deferred.await(w.opened)
      const src = yield* connectFor(ctx.srcConfig, t.label)
      const dst = yield* connectFor(ctx.dstConfig, t.label)
      // whole-table windows: the writer first commits every change of this source dispatched before the LW
      if (whole) yield* awaitWriter(ctx, dst, t, opened.last)
      const { s: snapText, t: snapTime } = yield* step(t.label, async () => {
        await src.query("begin isolation level repeatable read read only")
        // the statement's start precedes its snapshot: a change this copy does not hold commits later
        return (await src.query<{ s: string; t: string }>(SNAPSHOT_SQL)).rows[0]!
      })
      const snap = parseSnapshot(snapText)
      // past the commit of every transaction visible in the snapshot: bounds the window's recovery filter
      const past = whole
        ? yield* step(t.label, () => control.query<{ l: string }>("select pg_current_wal_insert_lsn()::text as l"))
        : undefined
      if (!windows.raceFree(t.target, opened.lwLsn, snap)) {
        yield* high
        return false
      }
      w.snapshot = snap
      const live = c.progress.attempt()
      const copied = yield* step(t.label, async () => {
        await dst.query("begin")
        await dst.query("set local synchronous_commit = off")
        if (whole && t.clear) await clearTarget(dst, t, ctx.url.sid)
        const out = await copyChunk({
          slice: { sid: ctx.url.sid, at: snapTime },
          src,
          dst,
          table: t,
          where: c.where,
          landing: t.reconcile ? "reconcile" : whole && !t.upsert ? "copy" : "upsert",
          throttle: ctx.throttle,
          live
        })
        const window = past && { from: opened.lwLsn, to: Lsn.parse(past.rows[0]!.l), snapshot: snapText }
        if (c.missing) await forgetMissing(dst, t.target, ctx.source, c.missing)
        else await markChunkDone(dst, t.target, ctx.source, c.chunk, "watermark", out.rows, out.bytes, window)
        return out
      }).pipe(
        Effect.zipLeft(
          step(t.label, () => dst.query("commit")).pipe(
            Effect.tap(() => Effect.sync(() => (w.committed = true))),
            Effect.uninterruptible
          )
        ),
        Effect.onExit((exit) => Effect.sync(() => c.progress.settle(live, exit._tag === "Success")))
      )
      yield* step(t.label, () => src.query("commit"))
      yield* high
      yield* Deferred.await(w.closed)
      recordSyncCopy(t.target, ctx.group.database, ctx.url.sid, copied.rows, copied.bytes)
      yield* Effect.annotateCurrentSpan({ rows: copied.rows, bytes: copied.bytes })
      if (copied.reconciled) yield* logReconciled(t, copied.reconciled, snapTime)
      return true
    })
  )

/** copies one chunk while the source streams; `control` is an autocommit source connection for watermarks */
export const copyWatermarkChunk = (
  ctx: SyncContext,
  windows: WatermarkWindows,
  control: pg.Client,
  c: WatermarkChunk
) =>
  Effect.gen(function* () {
    const started = Date.now()
    for (let races = 0; ; races++) {
      const copied = yield* attempt(ctx, windows, control, c).pipe(
        Effect.retry({ schedule: writeRetry, while: (e) => e.transient })
      )
      if (copied) break
      if (races >= MAX_RACES) {
        return yield* new CopyFailed({
          table: c.table.label,
          detail: "snapshot kept missing committed transactions",
          transient: true
        })
      }
      yield* Effect.logWarning(
        `chunk ${c.chunk + 1} of ${c.table.label}: a transaction before its low watermark is not in its snapshot yet; retrying`
      )
      yield* Effect.sleep(`${50 * (races + 1)} millis`)
    }
    const what = c.missing ? `${c.missing.length} moved row(s)` : `chunk ${c.chunk + 1}/${c.chunks}`
    yield* Effect.logInfo(`copied ${what} of ${c.table.label} while streaming in ${Date.now() - started} ms`).pipe(
      Effect.annotateLogs({ table: c.table.label, chunk: c.chunk })
    )
  }).pipe(
    Effect.withSpan("Sync.chunk", {
      attributes: {
        table: c.table.label,
        target: c.table.target,
        source: ctx.source,
        chunk: c.chunk,
        chunks: c.chunks,
        mode: c.missing ? "moved-rows" : "watermark"
      }
    })
  )

/** the watermark table on the source, and its membership in the publication */
export const ensureWatermarks = (client: pg.Client, publication: string) =>
  step(`${WATERMARK_SCHEMA}.${WATERMARK_TABLE}`, async () => {
    await client.query("begin")
    try {
      await client.query("select pg_advisory_xact_lock(hashtext('walferry.watermarks'))")
      await client.query(`create schema if not exists "${WATERMARK_SCHEMA}"`)
      await client.query(
        `create table if not exists ${MARKS} (id text primary key, target text not null, chunk integer not null,
         created_at timestamptz not null default now())`
      )
      const { rows } = await client.query(
        `select 1 from pg_publication_tables where pubname = $1 and schemaname = $2 and tablename = $3`,
        [publication, WATERMARK_SCHEMA, WATERMARK_TABLE]
      )
      if (rows.length === 0) {
        await client.query(`alter publication "${publication.replace(/"/g, '""')}" add table ${MARKS}`)
      }
      await client.query("commit")
    } catch (e) {
      await client.query("rollback").catch(() => undefined)
      throw e
    }
  })
