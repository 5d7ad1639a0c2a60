/**
 * Initial syncs that run while the source streams, one fiber per target: tables added to the mapping,
 * tables whose copy a crash or a failure interrupted (resumed: chunks already marked done are not copied
 * again), and resync requests from the API (a fresh plan; a running sync of the same target is replaced).
 * Chunks are copied with watermarks (WatermarkChunk), at most `sync_parallelism` at once for the source.
 * Once every chunk is copied, the rows whose key changes the writers could not apply meanwhile (recorded
 * in sync/watermark/MissingRows) are read again in watermark windows over just those keys, after the writer caught up
 * with everything handed to it; the table is `done` when no such key is left.
 * A transient failure retries the table with backoff from its durable state; a permanent one (say, the
 * destination has no key to upsert on) is logged and leaves the table `copying` until the next start.
 */
import { Effect, FiberMap, Ref } from "effect"
import type pg from "pg"
import { Acknowledger } from "../ack/Acknowledger.js"
import { AppConfig } from "../config/AppConfig.js"
import type { TableMapping } from "../config/Config.js"
import { restartBackoff } from "../flow/Policies.js"
import { query, quoteIdent } from "../lib/Sql.js"
import { chunkPredicates, planChunks } from "./copy/ChunkPlanner.js"
import { forgetAllMissing, loadMissing, markCopying, unmarkCopying, type MissingKey } from "./watermark/MissingRows.js"
import { awaitResyncs } from "./ResyncRequests.js"
import { connectFor, labelOf, step, type SyncContext } from "./SyncContext.js"
import { reportProgress, TableProgress } from "./SyncProgress.js"
import { loadPlans, markTableDone, savePlan } from "./SyncStore.js"
import { copyFailure, CopyFailed, describeSyncTable, type SyncTable } from "./SyncTable.js"
import { awaitWriter, copyWatermarkChunk, ensureWatermarks } from "./watermark/WatermarkChunk.js"
import type { Held, WatermarkWindows } from "./watermark/WatermarkWindows.js"
import { offerBefore } from "../writers/OfferBefore.js"

export interface OnlineTable {
  readonly mapping: TableMapping
  /** plan anew (clearing per existing_rows) instead of resuming a stored plan */
  readonly fresh: boolean
}

/** recorded keys read again per watermark window */
const MISSING_PER_WINDOW = 500

/** ` where (k = '…'::type and …) or …` over recorded keys, literals quoted by the server */
const missingPredicate = (control: pg.Client, t: SyncTable, keys: ReadonlyArray<MissingKey>) =>
  Effect.gen(function* () {
    const entries = keys.map((k) => Object.entries(k.key))
    const quoted = (yield* query<{ q: string | null }>(
      control,
      "select quote_literal(v) as q from unnest($1::text[]) with ordinality as u(v, i) order by i",
      [entries.flatMap((e) => e.map(([, v]) => v))]
    )).map((r) => r.q)
    const types = new Map(t.source.columns.map((c) => [c.name, c.typeName]))
    let next = 0
    const terms = entries.map((e) => {
      const parts = e.map(([name, value]) => {
        const q = quoted[next++]
        const type = types.get(name)
        if (type === undefined) return "false"
        return value === null ? `${quoteIdent(name)} is null` : `${quoteIdent(name)} = ${q}::${type}`
      })
      return parts.length === 0 ? "false" : `(${parts.join(" and ")})`
    })
    return ` where ${terms.join(" or ")}`
  }).pipe(Effect.mapError(copyFailure(t.label)))

/**
 * after the chunks: reads the recorded keys again until none is left once the writer has applied
 * everything handed to it, then marks the table done
 */
const finish = (
  ctx: SyncContext,
  windows: WatermarkWindows,
  permits: Effect.Semaphore,
  control: pg.Client,
  dst: pg.Client,
  table: SyncTable,
  chunks: number,
  progress: TableProgress
) =>
  Effect.gen(function* () {
    for (let tries = 0; ; tries++) {
      yield* awaitWriter(ctx, dst, table, windows.handed(table.target))
      if (table.whole) {
        // its one window holds every row; what the writer skipped before it is in there
        yield* step(table.label, () => forgetAllMissing(dst, table.target, ctx.source))
      } else {
        const keys = yield* step(table.label, () => loadMissing(dst, table.target, ctx.source, MISSING_PER_WINDOW))
        if (keys.length > 0) {
          const where = yield* missingPredicate(control, table, keys)
          const missing = keys.map((k) => k.id)
          yield* permits.withPermits(1)(
            copyWatermarkChunk(ctx, windows, control, { table, chunk: -1, chunks, where, progress, missing })
          )
          continue
        }
      }
      if (yield* step(table.label, () => markTableDone(dst, table.target, ctx.source))) {
        return unmarkCopying(table.target, ctx.source)
      }
      if (tries >= 50) {
        return yield* new CopyFailed({ table: table.label, detail: "could not be marked done", transient: true })
      }
      yield* Effect.sleep("100 millis")
    }
  })

const syncTable = (
  ctx: SyncContext,
  windows: WatermarkWindows,
  permits: Effect.Semaphore,
  progress: Map<string, TableProgress>,
  job: OnlineTable
) =>
  Effect.gen(function* () {
    const planned = yield* Ref.make(!job.fresh)
    const label = labelOf(job.mapping)
    const once = Effect.scoped(
      Effect.gen(function* () {
        const control = yield* connectFor(ctx.srcConfig, label)
        const dst = yield* connectFor(ctx.dstConfig, label)
        yield* ensureWatermarks(control, ctx.publication)
        const table = yield* describeSyncTable(
          control,
          dst,
          ctx.destSchema,
          job.mapping,
          ctx.url.sid,
          ctx.group.database,
          ctx.twoWay
        )
        const found = (yield* Ref.get(planned))
          ? (yield* step(label, () => loadPlans(dst, ctx.source))).get(table.target)
          : undefined
        // a whole-table copy cannot go on from a chunked snapshot plan: redo it whole, clearing what it copied
        const stored = table.whole && found !== undefined && found.chunks.length > 1 ? undefined : found
        const plan =
          stored ??
          (yield* planChunks(control, table.whole ? { ...table, key: [] } : table, ctx.chunkRows).pipe(
            Effect.mapError(copyFailure(label)),
            Effect.flatMap((p) =>
              step(label, () =>
                savePlan(
                  dst,
                  table,
                  ctx.source,
                  ctx.url.sid,
                  "watermark",
                  p,
                  // a reconcile is idempotent: what an earlier plan copied is merged again, never cleared
                  table.reconcile === undefined && (table.clear || found !== undefined)
                )
              )
            )
          ))
        yield* Ref.set(planned, true)
        const tp = new TableProgress(table.target, ctx.source, label, plan)
        progress.set(table.target, tp)
        const todo = plan.chunks.filter((c) => !c.done)
        yield* Effect.logInfo(
          stored === undefined
            ? `initial sync of ${label} → ${table.target} while streaming: ${plan.chunks.length} chunk(s), ~${plan.estimate} rows`
            : `resuming initial sync of ${label} → ${table.target} while streaming: ${plan.chunks.length - todo.length} ` +
                `of ${plan.chunks.length} chunk(s) already copied, copying ${todo.map((c) => c.chunk + 1).join(",") || "none"}`
        )
        const predicates = yield* chunkPredicates(control, table, todo).pipe(Effect.mapError(copyFailure(label)))
        yield* Effect.forEach(
          todo,
          (c, i) =>
            permits.withPermits(1)(
              copyWatermarkChunk(ctx, windows, control, {
                table,
                chunk: c.chunk,
                chunks: plan.chunks.length,
                where: predicates[i]!,
                progress: tp
              })
            ),
          { concurrency: ctx.parallelism, discard: true }
        )
        yield* finish(ctx, windows, permits, control, dst, table, plan.chunks.length, tp)
        tp.publish()
        yield* tp.log()
        yield* Effect.logInfo(`initial sync of ${label} → ${table.target} done`)
      })
    )
    yield* once.pipe(
      Effect.tapError((e) => Effect.logWarning(`${e.message}${e.transient ? "; retrying" : ""}`)),
      Effect.retry({ schedule: restartBackoff, while: (e) => e.transient }),
      Effect.catchAll((e) => Effect.logError(`initial sync of ${label} stopped: ${e.message}`))
    )
  }).pipe(Effect.annotateLogs({ table: labelOf(job.mapping), target: job.mapping.target }))

/**
 * Hands `held` to the writers in order, in a finalizer: never waits past `deadline` (epoch ms) for a full
 * mailbox, and not at all when the writers failed (a failed writer takes nothing more). Returns what it did
 * not hand over: those changes stay outstanding in the LsnTracker, so nothing from them on is confirmed and
 * the slot streams them again after a restart; they must not be overtaken by a later change of their table,
 * whose stored position would make that replay skip them (see WatermarkWindows.putBack).
 */
const handOver = (held: ReadonlyArray<Held>, deadline: number, failed: boolean) =>
  Effect.gen(function* () {
    let next = 0
    while (!failed && next < held.length && (yield* offerBefore(held[next]!.writer, held[next]!.change, deadline)))
      next++
    return held.slice(next)
  })

/**
 * runs `initial` and every later resync request of a target this source maps; never returns. When it is
 * interrupted (the source stops streaming), its copies abandon their windows first, then what the windows
 * held is handed to the writers (within half the shutdown timeout), so the source's in-flight changes drain.
 */
export const runOnlineSync = (ctx: SyncContext, windows: WatermarkWindows, initial: ReadonlyArray<OnlineTable>) =>
  Effect.gen(function* () {
    const ack = yield* Acknowledger
    const config = yield* AppConfig
    yield* Effect.addFinalizer(() =>
      Effect.gen(function* () {
        const deadline = Date.now() + config.tuning.shutdownTimeoutMs / 2
        const held = windows.releasedOnStop()
        windows.putBack(yield* handOver(held, deadline, yield* ctx.writers.hasFailed))
        for (const c of windows.takeDropped()) ack.release(ctx.source, c.lsn, 1)
      })
    )
    const fibers = yield* FiberMap.make<string>()
    const permits = yield* Effect.makeSemaphore(ctx.parallelism)
    const progress = new Map<string, TableProgress>()
    const start = (job: OnlineTable) =>
      FiberMap.run(fibers, job.mapping.target, syncTable(ctx, windows, permits, progress, job))
    for (const job of initial) yield* start(job)
    yield* reportProgress(() => progress.values(), 5_000).pipe(Effect.forkScoped)
    const mapped = new Map(ctx.group.tables.map((t) => [t.target, t]))
    return yield* awaitResyncs(ctx.source, mapped, (mapping) =>
      Effect.gen(function* () {
        yield* Effect.logInfo(`resync of ${mapping.target} requested: copying ${labelOf(mapping)} again`)
        markCopying(mapping.target, ctx.source)
        yield* start({ mapping, fresh: true })
      })
    )
  }).pipe(Effect.scoped)
