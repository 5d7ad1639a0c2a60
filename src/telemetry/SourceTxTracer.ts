/**
 * Source → writer trace propagation. While traces are exported, a source reader opens one `Source.transaction`
 * span per received source transaction (Begin → Commit: source, xid, commit LSN and time, changes) and tags every
 * change of it with one shared `SourceTx` object; each `TableWriter.batch` span then links to the transaction
 * spans of the changes it applied, so one source transaction can be followed into every batch that carried it.
 *
 * Cost: nothing is created when tracing is off (no tracer, `tx` stays undefined, `batchSpan` only formats two
 * LSNs); when on, one span per source transaction and one pass over each batch, never a span per row.
 */
import { Effect, Exit, Option, type Clock, type Context, type Tracer } from "effect"
import type { Change, SourceTx } from "../domain/Change.js"
import * as Lsn from "../domain/Lsn.js"
import { TracingEnabled } from "./Tracing.js"

/** links per batch span, at most (the count of all is an attribute) */
export const MAX_LINKS = 128

export interface SourceTxRef {
  readonly source: string
  readonly database: string
  readonly sid: string
}

export class SourceTxTracer {
  constructor(
    private readonly ref: SourceTxRef,
    private readonly tracer: Tracer.Tracer,
    private readonly clock: Clock.Clock,
    private readonly context: Context.Context<never>
  ) {}

  /** opens the span of the transaction a Begin message starts */
  begin(xid: number, commitLsn: Lsn.Lsn, commitTimeUs: bigint): SourceTx {
    const span = this.tracer.span(
      "Source.transaction",
      Option.none(),
      this.context,
      [],
      this.clock.unsafeCurrentTimeNanos(),
      "consumer",
      { root: true }
    )
    span.attribute("source", this.ref.source)
    span.attribute("database", this.ref.database)
    span.attribute("sid", this.ref.sid)
    span.attribute("xid", xid)
    span.attribute("commitLsn", Lsn.format(commitLsn))
    span.attribute("commitTime", new Date(Number(commitTimeUs / 1000n)).toISOString())
    return { span }
  }

  /** ends it at the Commit message; `changes` counts the transaction's row changes and truncated tables */
  commit(tx: SourceTx | undefined, endLsn: Lsn.Lsn, changes: number): void {
    if (tx === undefined) return
    tx.span.attribute("endLsn", Lsn.format(endLsn))
    tx.span.attribute("changes", changes)
    tx.span.end(this.clock.unsafeCurrentTimeNanos(), Exit.void)
  }
}

/** a tracer for the source when traces are exported, else undefined (and the dispatcher tags nothing) */
export const makeSourceTxTracer = (ref: SourceTxRef): Effect.Effect<SourceTxTracer | undefined> =>
  Effect.gen(function* () {
    if (!(yield* TracingEnabled)) return undefined
    const tracer = yield* Effect.tracer
    const clock = yield* Effect.clock
    const context = yield* Effect.context<never>()
    return new SourceTxTracer(ref, tracer, clock, context)
  })

export interface BatchSpanOptions {
  readonly attributes: Record<string, unknown>
  readonly links?: ReadonlyArray<Tracer.SpanLink>
}

/** attributes of a `TableWriter.batch` span, and its links to the source transactions it applies */
export const batchSpan = (table: string, changes: ReadonlyArray<Change>): BatchSpanOptions => {
  const first = changes[0]!
  const last = changes[changes.length - 1]!
  const attributes: Record<string, unknown> = {
    table,
    rows: changes.length,
    firstLsn: Lsn.format(first.lsn),
    lastLsn: Lsn.format(last.lsn)
  }
  if (first.tx === undefined) return { attributes }
  const seen = new Set<SourceTx>()
  const links: Array<Tracer.SpanLink> = []
  for (const c of changes) {
    const tx = c.tx
    if (tx === undefined || seen.has(tx)) continue
    seen.add(tx)
    if (links.length < MAX_LINKS) links.push({ _tag: "SpanLink", span: tx.span, attributes: {} })
  }
  attributes["sourceTransactions"] = seen.size
  return { attributes, links }
}

/**
 * the destination transaction of a batch, timed per attempt while traces are exported: the batch span gets
 * `destinationTransactionMs` (of the last attempt) and `attempts`
 */
export const traceApply = <A, E, R>(
  apply: Effect.Effect<A, E, R>,
  changes: ReadonlyArray<Change>
): Effect.Effect<A, E, R> => {
  if (changes[0]?.tx === undefined) return apply
  let attempts = 0
  return Effect.suspend(() => {
    const started = performance.now()
    attempts++
    return Effect.onExit(apply, () =>
      Effect.annotateCurrentSpan({ destinationTransactionMs: performance.now() - started, attempts })
    )
  })
}
