/**
 * Table writer actor: one bounded mailbox and one scoped fiber per destination table.
 *
 * Ordering: changes are applied in mailbox order, i.e. commit order per source, so per key order holds.
 * Acked: a change is released to the Acknowledger only once the destination transaction holding it and
 * the table's new position has committed, or when it is skipped as already applied (replay).
 * Restart: a transient failure is retried in place; when retries run out the writer fails and the
 * supervisor restarts the pipeline, which replays from each slot's confirmed LSN — positions stored
 * with every batch make the replay skip what this table already has. A permanent failure stops the
 * table: it keeps draining its mailbox (other tables keep flowing) and caps each source's confirmable
 * LSN below its first unapplied change, so nothing of this table is confirmed until it is fixed.
 */
import { Effect } from "effect"
import { Acknowledger } from "../ack/Acknowledger.js"
import type { Change, Queued } from "../domain/Change.js"
import type { DdlChange } from "../domain/DdlEvent.js"
import type { Lsn } from "../domain/Lsn.js"
import { retryOnFailure, writeRetry } from "../flow/Policies.js"
import { advance, collectBatch, ddlIndex, newPace, releaseRuns, type BatchPolicy } from "./Batching.js"
import { Mailbox } from "./Mailbox.js"
import { RawArena } from "../decode/RawTuple.js"
import { reportBatch } from "./BatchMetrics.js"
import { batchSpan, traceApply } from "../telemetry/SourceTxTracer.js"
import { TracingEnabled } from "../telemetry/Tracing.js"
import { isApplied, Sink, type Extend, type Position, type TargetSpec } from "../sink/Sink.js"
import type { WriteFailed } from "./WriteFailed.js"

/** dropped: a wildcard-matched table every source dropped (its target is kept; late replays still apply) */
export type WriterState = "streaming" | "stopped" | "dropped"

export interface WriterStatus {
  readonly target: string
  readonly state: WriterState
  readonly error: string | undefined
  readonly rowsApplied: number
  readonly batches: number
  readonly lastLsn: Lsn
  readonly mailboxDepth: number
}

export interface WriterOptions {
  readonly capacity: number
  readonly batch: BatchPolicy
}

export interface TableWriter {
  readonly target: string
  /** where new rows routed here are copied as bytes (RawInsert): its slabs hold only this table's rows */
  readonly arena: RawArena
  /** enqueue without waiting; false when the mailbox is full */
  readonly tryOffer: (change: Queued) => boolean
  /** enqueue, suspending while the mailbox is full (backpressure into the reader) */
  readonly offer: (change: Queued) => Effect.Effect<void>
  readonly status: Effect.Effect<WriterStatus>
  /** completes when the mailbox is empty and no batch is being collected (linger, pacing) or applied */
  readonly drained: Effect.Effect<void>
  /**
   * forgets the in-memory position of `source` (its row in walferry.positions was just deleted by an initial
   * copy): its changes are no longer skipped as replays. Only while no change of `source` is in flight.
   */
  readonly resetPosition: (source: string) => Effect.Effect<void>
  /**
   * sets the in-memory position of `source` to what the destination has (cluster mode: another runner may have
   * applied its changes since this writer opened). Only while no change of `source` is in flight.
   */
  readonly setPosition: (source: string, position: Position | undefined) => Effect.Effect<void>
  /** the actor loop: fails only with a retryable WriteFailed whose retries ran out */
  readonly run: Effect.Effect<never, WriteFailed>
}

const ARENA_SLAB = 64 << 10

export const makeTableWriter = (spec: TargetSpec, options: WriterOptions) =>
  Effect.gen(function* () {
    const sink = yield* Sink
    const ack = yield* Acknowledger
    // a span per batch only when spans are exported: the runtime's own span costs more than a small batch's work
    const traced = yield* TracingEnabled
    const target = yield* sink.open(spec)
    const mailbox = new Mailbox<Queued>(options.capacity)
    const positions = new Map<string, Position>(target.positions)
    // read by `status` from other fibers; only this writer's fiber changes them
    const stats = { rowsApplied: 0, batches: 0, lastLsn: 0n as Lsn }
    let stopped: string | undefined = target.problem?.message
    if (target.problem)
      yield* Effect.logError(`table stopped: ${stopped}`).pipe(Effect.annotateLogs({ table: spec.target }))
    let inFlight = 0
    const pace = newPace()

    const capBelow = (batch: ReadonlyArray<Queued>) => {
      for (const c of batch) ack.capAt(c.source, c.lsn)
    }
    const stop = (batch: ReadonlyArray<Queued>, error: WriteFailed) =>
      Effect.suspend(() => {
        capBelow(batch)
        stopped = error.message
        return Effect.logError(`table stopped: ${error.message}`).pipe(Effect.annotateLogs({ table: spec.target }))
      })

    /** applies rows (no DDL among them); with `open` the batch may take more rows from the mailbox */
    const applyRows = (fresh: Array<Change>, taken: Array<Queued>, open: boolean): Effect.Effect<void, WriteFailed> => {
      // only the sources of this batch: another runner may be writing the other sources' positions
      const next = new Map<string, Position>()
      advance(next, fresh)
      const extend: Extend | undefined = open
        ? (accept, max) => {
            const more = mailbox.takeWhile(
              max,
              (c) => c._tag !== "Ddl" && !isApplied(positions.get(c.source), c.lsn, c.seq) && accept(c)
            ) as Array<Change>
            for (const c of more) {
              fresh.push(c)
              taken.push(c)
            }
            advance(next, more)
            inFlight = taken.length
            return more
          }
        : undefined
      const started = performance.now()
      const done = (ok: boolean) => {
        reportBatch(spec.target, fresh, (performance.now() - started) / 1000, ok)
        if (!ok) return
        for (const [k, v] of next) positions.set(k, v)
        stats.rowsApplied += fresh.length
        stats.batches++
        stats.lastLsn = fresh[fresh.length - 1]!.lsn
      }
      // few runtime steps on the way of a successful batch: a writer applies hundreds a second
      const attempt = Effect.matchEffect(
        retryOnFailure(traceApply(target.apply(fresh, next, extend), fresh), {
          schedule: writeRetry,
          while: (e) => e.retryable
        }),
        {
          onFailure: (e) => (e.retryable ? Effect.fail(e) : Effect.map(stop(fresh, e), () => done(false))),
          onSuccess: () => {
            done(true)
            return Effect.void
          }
        }
      )
      return traced
        ? // no stack trace per batch: capturing one costs more than a small batch's own work
          Effect.withSpan(attempt, "TableWriter.batch", { ...batchSpan(spec.target, fresh), captureStackTrace: false })
        : attempt
    }

    // sources that still have this wildcard-matched table; each DROP TABLE captured from one removes it
    const wildcard = spec.mapping.wildcard
    const holding = new Set(
      wildcard === undefined
        ? []
        : spec.sources.map((s) => s.source).filter((k) => wildcard.present.some((sid) => k.endsWith(`/${sid}`)))
    )
    const dropped = (ddl: DdlChange) =>
      Effect.zipRight(
        Effect.sync(() => holding.delete(ddl.source)),
        Effect.logInfo(
          `source table ${ddl.event.schema}.${ddl.event.name} was dropped on ${ddl.source}; its rows up to the DROP are applied, the destination table is kept`
        )
      )

    /** a captured DDL, in its own destination transaction with the position it reaches */
    const applyDdl = (ddl: DdlChange): Effect.Effect<void, WriteFailed> => {
      if (wildcard !== undefined && ddl.event.after === null) return dropped(ddl)
      if (target.applyDdl === undefined) return Effect.void
      const position = { lsn: ddl.lsn, seq: ddl.seq }
      const next = new Map<string, Position>([[ddl.source, position]])
      return Effect.matchEffect(
        retryOnFailure(target.applyDdl(ddl, next), { schedule: writeRetry, while: (e) => e.retryable }),
        {
          onFailure: (e) => (e.retryable ? Effect.fail(e) : stop([ddl], e)),
          onSuccess: () => Effect.sync(() => positions.set(ddl.source, position))
        }
      )
    }

    const finish = (taken: ReadonlyArray<Queued>) => {
      releaseRuns(taken, ack.release)
      inFlight = 0
    }

    /** rows up to a captured DDL, the DDL, the rows after it: each part in its own destination transaction */
    const applyParts = (fresh: Array<Queued>, taken: Array<Queued>) =>
      Effect.gen(function* () {
        // (the last part may grow `fresh` through `extend`: what it takes is applied with it)
        const end = fresh.length
        for (let from = 0; from < end;) {
          if (stopped !== undefined) {
            capBelow(fresh.slice(from, end))
            break
          }
          const at = ddlIndex(fresh, from, end)
          if (at > from) {
            const rows = (from === 0 && at === end ? fresh : fresh.slice(from, at)) as Array<Change>
            yield* applyRows(rows, taken, at === end)
          }
          if (at < end) yield* applyDdl(fresh[at] as DdlChange)
          from = at + 1
        }
      })

    const step = Effect.flatMap(collectBatch(mailbox, options.batch, pace), (batch) => {
      const taken = batch as Array<Queued>
      inFlight = taken.length
      if (stopped !== undefined) {
        capBelow(taken)
        finish(taken)
        return Effect.void
      }
      const fresh = taken.filter((c) => !isApplied(positions.get(c.source), c.lsn, c.seq))
      if (fresh.length === 0) {
        finish(taken)
        return Effect.void
      }
      const parts =
        ddlIndex(fresh, 0, fresh.length) === fresh.length
          ? applyRows(fresh as Array<Change>, taken, true)
          : applyParts(fresh, taken)
      return Effect.map(parts, () => finish(taken))
    })

    const status = Effect.sync((): WriterStatus => ({
      target: spec.target,
      state: stopped !== undefined ? "stopped" : wildcard !== undefined && holding.size === 0 ? "dropped" : "streaming",
      error: stopped,
      ...stats,
      mailboxDepth: mailbox.size
    }))

    const drained = Effect.gen(function* () {
      while (mailbox.size > 0 || inFlight > 0) yield* Effect.sleep("20 millis")
    })

    return {
      target: spec.target,
      arena: new RawArena(ARENA_SLAB),
      tryOffer: (change) => mailbox.tryOffer(change),
      offer: (change) => mailbox.offer(change),
      status,
      drained,
      resetPosition: (source) => Effect.sync(() => positions.delete(source)),
      setPosition: (source, p) =>
        Effect.sync(() => {
          if (p === undefined) positions.delete(source)
          else positions.set(source, p)
        }),
      run: Effect.forever(step).pipe(Effect.annotateLogs({ table: spec.target }))
    } satisfies TableWriter
  })
