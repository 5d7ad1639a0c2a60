/**
 * First start: the slot was just created and its exported snapshot is held open. Every mapped table is
 * planned (chunk boundaries read inside the snapshot; target cleared per `existing_rows`; positions
 * reset), then the chunks of all tables are copied by `sync_parallelism` workers, each keeping a source
 * and a destination connection (ConnectionPair): every chunk in a source transaction importing the same
 * snapshot (`SET TRANSACTION SNAPSHOT`) and a destination transaction that also marks it done. An emptied
 * single-source target is loaded without its indexes, built once its last chunk settles (DeferredIndexes).
 * The copy holds exactly the transactions committed before the slot's consistent point and the stream,
 * started there, exactly the others: nothing lost, nothing twice.
 * A table that cannot finish here is left to the online (watermark) sync, which also completes whatever a
 * crash interrupted: the exported snapshot does not survive the process, the slot and the done chunks do.
 */
import { Effect } from "effect"
import type pg from "pg"
import type { TableMapping } from "../config/Config.js"
import type { SlotSnapshot } from "../source/slot/SlotSnapshot.js"
import { recordSyncCopy } from "../telemetry/Metrics.js"
import { writeRetry } from "../flow/Policies.js"
import { chunkPredicates, planChunks, type ChunkBounds } from "./copy/ChunkPlanner.js"
import { copyChunk } from "./copy/ChunkCopy.js"
import { logReconciled } from "./HistoryReconcile.js"
import { byTarget, connectFor, labelOf, step, type SyncContext } from "./SyncContext.js"
import { reportProgress, TableProgress } from "./SyncProgress.js"
import { markChunkDone, markTableDone, savePlan } from "./SyncStore.js"
import { copyFailure, describeSyncTable, type CopyFailed, type SyncTable } from "./SyncTable.js"
import { connectionPair, type ConnectionPair } from "./copy/ConnectionPair.js"
import { deferIndexes, restoreIndexes } from "./DeferredIndexes.js"

interface Planned {
  readonly table: SyncTable
  readonly chunks: ReadonlyArray<ChunkBounds>
  readonly predicates: ReadonlyArray<string>
  readonly progress: TableProgress
  /** indexes dropped until the last chunk settles (DeferredIndexes) */
  readonly deferred: number
  /** chunks not settled yet */
  unsettled: number
  /** of its chunks, and of the index rebuild */
  readonly failures: Array<CopyFailed>
}

const SNAPSHOT_NAME = /^[0-9A-Fa-f-]+$/

const importSnapshot = (client: pg.ClientBase, snapshot: SlotSnapshot, label: string) =>
  step(label, async () => {
    if (!SNAPSHOT_NAME.test(snapshot.snapshotName)) throw new Error("unexpected exported snapshot name")
    await client.query("begin isolation level repeatable read read only")
    await client.query(`set transaction snapshot '${snapshot.snapshotName}'`)
  })

const planTable = (ctx: SyncContext, planner: pg.Client, dst: pg.Client, m: TableMapping) =>
  Effect.gen(function* () {
    const table = yield* describeSyncTable(planner, dst, ctx.destSchema, m, ctx.url.sid, ctx.group.database, ctx.twoWay)
    // a reconciled history table is one chunk: keys absent from the snapshot are found against all its rows
    const chunking = table.reconcile ? { ...table, key: [] } : table
    const plan = yield* planChunks(planner, chunking, ctx.chunkRows).pipe(Effect.mapError(copyFailure(table.label)))
    const predicates = yield* chunkPredicates(planner, chunking, plan.chunks).pipe(
      Effect.mapError(copyFailure(table.label))
    )
    const stored = yield* step(table.label, () => savePlan(dst, table, ctx.source, ctx.url.sid, "snapshot", plan))
    const writer = ctx.writers.byTarget.get(table.target)
    if (writer) yield* writer.resetPosition(ctx.source)
    const alone = table.clear && !table.hasSid && ctx.group.urls.length === 1
    const deferred = alone
      ? yield* step(table.label, () => deferIndexes(dst, ctx.destSchema, table.target, ctx.source))
      : 0
    yield* Effect.logInfo(
      `initial sync of ${table.label} → ${table.target}: ${plan.chunks.length} chunk(s), ~${plan.estimate} rows` +
        (deferred > 0 ? `, ${deferred} index(es) built after the copy` : "")
    )
    const progress = new TableProgress(table.target, ctx.source, table.label, stored)
    return {
      table,
      chunks: plan.chunks,
      predicates,
      progress,
      deferred,
      unsettled: plan.chunks.length,
      failures: []
    } satisfies Planned
  })

const copyOne = (ctx: SyncContext, snapshot: SlotSnapshot, pair: ConnectionPair, p: Planned, chunk: number) =>
  Effect.gen(function* () {
    const t = p.table
    const { src, dst } = yield* pair.get(t.label)
    yield* importSnapshot(src, snapshot, t.label)
    const live = p.progress.attempt()
    const started = Date.now()
    const copied = yield* step(t.label, async () => {
      await dst.query("begin")
      await dst.query("set local synchronous_commit = off")
      const landing = t.reconcile ? "reconcile" : t.upsert ? "upsert" : "copy"
      const out = await copyChunk({
        slice: { sid: ctx.url.sid, at: snapshot.startedAt },
        src,
        dst,
        table: t,
        where: p.predicates[chunk]!,
        landing,
        throttle: ctx.throttle,
        live
      })
      await markChunkDone(dst, t.target, ctx.source, chunk, "snapshot", out.rows, out.bytes)
      await dst.query("commit")
      await src.query("commit")
      return out
    }).pipe(Effect.onExit((exit) => Effect.sync(() => p.progress.settle(live, exit._tag === "Success"))))
    recordSyncCopy(t.target, ctx.group.database, ctx.url.sid, copied.rows, copied.bytes)
    yield* Effect.annotateCurrentSpan({ rows: copied.rows, bytes: copied.bytes })
    if (copied.reconciled) yield* logReconciled(t, copied.reconciled, snapshot.startedAt)
    yield* Effect.logInfo(
      `copied chunk ${chunk + 1}/${p.chunks.length} of ${t.label}: ${copied.rows} rows in ${Date.now() - started} ms`
    ).pipe(Effect.annotateLogs({ table: t.label, chunk }))
  }).pipe(
    Effect.onError(() => pair.drop),
    Effect.retry({ schedule: writeRetry, while: (e) => e.transient }),
    Effect.withSpan("Sync.chunk", {
      attributes: {
        table: p.table.label,
        target: p.table.target,
        source: ctx.source,
        chunk,
        chunks: p.chunks.length,
        mode: "snapshot"
      }
    })
  )

/** builds the indexes the plan deferred, once every chunk of the table settled (copied or failed) */
const rebuild = (ctx: SyncContext, p: Planned) =>
  Effect.scoped(
    Effect.gen(function* () {
      const dst = yield* connectFor(ctx.dstConfig, p.table.label)
      const started = Date.now()
      const statements = yield* step(p.table.label, () => restoreIndexes(dst, p.table.target, ctx.source))
      yield* Effect.logInfo(
        `built ${statements.length} index(es) of ${p.table.target} after its copy in ${Date.now() - started} ms`
      ).pipe(Effect.annotateLogs({ table: p.table.label }))
    })
  ).pipe(
    Effect.retry({ schedule: writeRetry, while: (e) => e.transient }),
    Effect.withSpan("Sync.rebuildIndexes", { attributes: { table: p.table.label, target: p.table.target } })
  )

/** copies `tables` from the exported snapshot; returns the mappings that are not completely copied */
export const copySnapshot = (
  ctx: SyncContext,
  tables: ReadonlyArray<TableMapping>,
  snapshot: SlotSnapshot
): Effect.Effect<ReadonlyArray<TableMapping>> =>
  Effect.scoped(
    Effect.gen(function* () {
      const unfinished: Array<TableMapping> = []
      const planner = yield* connectFor(ctx.srcConfig, "initial sync")
      const dst = yield* connectFor(ctx.dstConfig, "initial sync")
      yield* importSnapshot(planner, snapshot, "initial sync")
      const planned: Array<Planned> = []
      for (const m of byTarget(tables)) {
        const r = yield* Effect.either(planTable(ctx, planner, dst, m))
        if (r._tag === "Right") planned.push(r.right)
        else {
          unfinished.push(m)
          yield* Effect.logError(`initial sync of ${labelOf(m)} not started: ${r.left.message}`)
        }
      }
      yield* Effect.promise(() => planner.query("commit").catch(() => undefined))
      yield* reportProgress(() => planned.map((p) => p.progress), 5_000).pipe(Effect.forkScoped)
      const jobs = planned.flatMap((p) => p.chunks.map((_, chunk) => ({ p, chunk })))
      const failed = (p: Planned) => (e: CopyFailed) => Effect.sync(() => p.failures.push(e))
      const settle = (p: Planned) =>
        --p.unsettled > 0 || p.deferred === 0 ? Effect.void : rebuild(ctx, p).pipe(Effect.catchAll(failed(p)))
      let next = 0
      const worker = Effect.gen(function* () {
        const pair = yield* connectionPair(ctx.srcConfig, ctx.dstConfig)
        while (next < jobs.length) {
          const { p, chunk } = jobs[next++]!
          yield* copyOne(ctx, snapshot, pair, p, chunk).pipe(Effect.catchAll(failed(p)))
          yield* settle(p)
        }
      }).pipe(Effect.scoped)
      const workers = Array.from({ length: Math.min(ctx.parallelism, jobs.length) }, () => worker)
      yield* Effect.all(workers, { concurrency: "unbounded", discard: true })
      for (const p of planned) {
        const failures = p.failures
        if (failures.length === 0) {
          yield* step(p.table.label, () => markTableDone(dst, p.table.target, ctx.source)).pipe(Effect.ignore)
          p.progress.publish()
          yield* p.progress.log()
          continue
        }
        unfinished.push(p.table.mapping)
        yield* Effect.logError(
          `initial sync of ${p.table.label}: ${failures.length} chunk or index build failure(s), finishing online: ${failures[0]!.message}`
        )
      }
      return unfinished
    }).pipe(Effect.catchAll((e) => Effect.as(Effect.logError(e.message), tables)))
  )
