/**
 * Progress of the initial sync of each (target, source): rows copied (chunks done in earlier runs plus the
 * blocks streamed so far by chunks in flight, counted or estimated from their bytes), the estimate (pg_class.reltuples, or counted while
 * planning), the rate of this run and the ETA. Published to metrics and `/status` (summed over the sources
 * of a target) on every change, and logged for every table still copying at a steady cadence.
 */
import { Effect } from "effect"
import { setSyncProgress, type SyncProgress } from "../telemetry/Metrics.js"
import type { CopyCounter } from "./copy/ChunkCopy.js"
import type { StoredPlan } from "./SyncStore.js"

export interface TableProgressView extends SyncProgress {
  readonly estimatedRows: number
  readonly rowsPerSecond: number
  readonly etaSeconds: number | null
}

export class TableProgress {
  private readonly inFlight = new Set<CopyCounter>()
  private rowsDone: number
  private copiedThisRun = 0
  /** rows per byte of the chunks copied by this run, to estimate the rows of chunks in flight */
  private bytesThisRun = 0
  private readonly startedAt = Date.now()
  chunksDone: number
  readonly chunksTotal: number
  readonly estimate: number

  constructor(
    readonly target: string,
    readonly source: string,
    readonly label: string,
    plan: StoredPlan
  ) {
    this.chunksTotal = plan.chunks.length
    this.chunksDone = plan.chunks.filter((c) => c.done).length
    this.rowsDone = plan.chunks.reduce((n, c) => n + (c.done ? (c.rows ?? 0) : 0), 0)
    this.estimate = plan.estimate
    this.publish()
  }

  /** a counter for one chunk attempt, counted while it runs */
  attempt(): CopyCounter {
    const c = { rows: 0, bytes: 0 }
    this.inFlight.add(c)
    return c
  }

  /** the attempt ended: committed (its rows count from now on) or not */
  settle(counter: CopyCounter, committed: boolean): void {
    this.inFlight.delete(counter)
    if (!committed) return
    this.chunksDone++
    this.rowsDone += counter.rows
    this.copiedThisRun += counter.rows
    this.bytesThisRun += counter.bytes
    this.publish()
  }

  get finished(): boolean {
    return this.chunksDone >= this.chunksTotal
  }

  view(): TableProgressView {
    let live = 0
    const perByte = this.bytesThisRun > 0 ? this.copiedThisRun / this.bytesThisRun : 0
    for (const c of this.inFlight) live += c.rows > 0 ? c.rows : Math.round(c.bytes * perByte)
    const rows = this.rowsDone + live
    const seconds = Math.max(0.001, (Date.now() - this.startedAt) / 1000)
    const rate = (this.copiedThisRun + live) / seconds
    const estimatedRows = Math.max(this.estimate, rows)
    return {
      chunksDone: this.chunksDone,
      chunksTotal: this.chunksTotal,
      rows,
      estimatedRows,
      rowsPerSecond: Math.round(rate),
      etaSeconds: this.finished ? 0 : rate > 0 ? Math.round((estimatedRows - rows) / rate) : null
    }
  }

  publish(): void {
    const bySource = all.get(this.target) ?? new Map<string, TableProgress>()
    bySource.set(this.source, this)
    all.set(this.target, bySource)
    const views = [...bySource.values()].map((p) => p.view())
    const sum = (f: (v: TableProgressView) => number) => views.reduce((n, v) => n + f(v), 0)
    const eta = views.map((v) => v.etaSeconds)
    const combined: TableProgressView = {
      chunksDone: sum((v) => v.chunksDone),
      chunksTotal: sum((v) => v.chunksTotal),
      rows: sum((v) => v.rows),
      estimatedRows: sum((v) => v.estimatedRows),
      rowsPerSecond: sum((v) => v.rowsPerSecond),
      etaSeconds: eta.includes(null) ? null : Math.max(0, ...(eta as Array<number>))
    }
    setSyncProgress(this.target, combined)
  }

  log(): Effect.Effect<void> {
    const v = this.view()
    const percent = this.finished
      ? 100
      : v.estimatedRows > 0
        ? Math.min(99, Math.floor((100 * v.rows) / v.estimatedRows))
        : 0
    return Effect.logInfo(
      `sync progress ${this.label} → ${this.target}: ${v.rows} of ~${v.estimatedRows} rows (${percent}%), ` +
        `${v.rowsPerSecond} rows/s, eta ${v.etaSeconds ?? "?"} s, chunks ${v.chunksDone}/${v.chunksTotal}`
    ).pipe(Effect.annotateLogs({ table: this.label, target: this.target }))
  }
}

const all = new Map<string, Map<string, TableProgress>>()

/** logs and publishes every unfinished table of `tables()` every `everyMs` (forever: fork it) */
export const reportProgress = (tables: () => Iterable<TableProgress>, everyMs: number) =>
  Effect.gen(function* () {
    while (true) {
      yield* Effect.sleep(everyMs)
      for (const t of tables()) {
        if (t.finished) continue
        t.publish()
        yield* t.log()
      }
    }
  })
