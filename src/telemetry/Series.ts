/**
 * The console's time series, kept in memory: every `api.series_interval_ms` a scoped sampler fiber reads what the
 * service already knows (per-source counters and slot readings of Metrics, the writers' statuses) and appends one
 * sample to a ring covering `api.series_window_minutes`. Rates are differences of counters between samples (a
 * counter that went down, a writer rebuilt by a pipeline restart, counts from zero). `GET /api/series` serves it.
 */
import { Context, Effect, Layer } from "effect"
import { Acknowledger } from "../ack/Acknowledger.js"
import { AppConfig } from "../config/AppConfig.js"
import { currentConfig, LiveMapping } from "../pipeline/LiveMapping.js"
import { Writers } from "../writers/Writers.js"
import { rowsCopied, sourceReadings } from "./Metrics.js"
import { makeSeriesRing, type SeriesRing } from "./SeriesRing.js"
import { slotWarning } from "./SlotHeadroom.js"

type Points = ReadonlyArray<number | null>

export interface SourceSeries {
  readonly database: string
  readonly sid: string
  readonly changesPerSec: Points
  readonly rowsPerSec: Points
  readonly lagSeconds: Points
  readonly retainedWalBytes: Points
  readonly safeWalSizeBytes: Points
  /** the slot is close to being invalidated (max_slot_wal_keep_size), null otherwise */
  readonly warning: string | null
}

export interface TableSeries {
  readonly target: string
  readonly rowsPerSec: Points
  readonly mailboxDepth: Points
}

export interface SeriesView {
  readonly intervalMs: number
  readonly windowMinutes: number
  /** unix seconds of each sample, oldest first */
  readonly t: ReadonlyArray<number>
  readonly overall: {
    readonly changesPerSec: Points
    readonly rowsPerSec: Points
    readonly lagSeconds: Points
    readonly retainedWalBytes: Points
  }
  readonly sources: ReadonlyArray<SourceSeries>
  readonly tables: ReadonlyArray<TableSeries>
}

export interface SeriesShape {
  readonly view: Effect.Effect<SeriesView>
  /** takes one sample now (the sampler does this every interval) */
  readonly sample: Effect.Effect<void>
}

export class Series extends Context.Tag("walferry/Series")<Series, SeriesShape>() {}

const src = (database: string, sid: string, field: string) => `s\u0000${database}\u0000${sid}\u0000${field}`
const tbl = (target: string, field: string) => `t\u0000${target}\u0000${field}`
/** how far back the WAL growth rate of a slot is measured */
const GROWTH_WINDOW_MS = 5 * 60_000

const makeSeries = Effect.gen(function* () {
  const config = yield* AppConfig
  const writers = yield* Writers
  const acks = yield* Acknowledger
  const mapping = yield* LiveMapping
  const { seriesIntervalMs: intervalMs, seriesWindowMinutes: windowMinutes } = config.api
  const capacity = Math.max(2, Math.ceil((windowMinutes * 60_000) / intervalMs) + 1)
  const ring: SeriesRing = makeSeriesRing(capacity)
  const previous = new Map<string, number>()
  let previousAt: number | undefined
  /** the sources of the mapping in effect (it may change while the process runs) */
  let sources: ReadonlyArray<{ readonly database: string; readonly sid: string }> = []

  /** per second since the last sample; undefined on the first one */
  const rate = (key: string, value: number, dt: number | undefined) => {
    const before = previous.get(key)
    previous.set(key, value)
    if (dt === undefined || before === undefined) return undefined
    return (value >= before ? value - before : value) / dt
  }

  const sample = Effect.gen(function* () {
    const statuses = yield* writers.statuses
    sources = (yield* Effect.provideService(currentConfig, LiveMapping, mapping)).sources.flatMap((g) =>
      g.urls.map((u) => ({ database: g.database, sid: u.sid }))
    )
    /** a source with everything received confirmed has nothing in flight: its lag is 0, not the last one measured */
    const caughtUp = new Set(
      (yield* acks.states).filter((a) => a.outstanding === 0 || a.received <= a.confirmed).map((a) => a.source)
    )
    const now = Date.now()
    const dt = previousAt === undefined ? undefined : Math.max(0.001, (now - previousAt) / 1000)
    previousAt = now
    const values = new Map<string, number | undefined>()
    const sum = { changes: 0, rows: 0, lag: 0, wal: 0, rated: false, walSeen: false, lagSeen: false }
    for (const { database, sid } of sources) {
      const r = sourceReadings(database, sid)
      const lag = r?.lagSeconds === undefined ? undefined : caughtUp.has(`${database}/${sid}`) ? 0 : r.lagSeconds
      const changes = rate(src(database, sid, "c"), r?.changesApplied ?? 0, dt)
      const rows = rate(src(database, sid, "r"), (r?.changesApplied ?? 0) + (r?.rowsCopied ?? 0), dt)
      values.set(src(database, sid, "changes"), changes)
      values.set(src(database, sid, "rows"), rows)
      values.set(src(database, sid, "lag"), lag)
      values.set(src(database, sid, "wal"), r?.retainedWalBytes)
      values.set(src(database, sid, "safe"), r?.safeWalSizeBytes)
      if (changes !== undefined && rows !== undefined) {
        sum.rated = true
        sum.changes += changes
        sum.rows += rows
      }
      if (lag !== undefined) {
        sum.lagSeen = true
        sum.lag = Math.max(sum.lag, lag)
      }
      if (r?.retainedWalBytes !== undefined) {
        sum.walSeen = true
        sum.wal += r.retainedWalBytes
      }
    }
    for (const w of statuses) {
      const applied = rate(tbl(w.target, "a"), w.rowsApplied, dt)
      const copied = rate(tbl(w.target, "y"), rowsCopied(w.target), dt)
      values.set(tbl(w.target, "rows"), applied === undefined || copied === undefined ? undefined : applied + copied)
      values.set(tbl(w.target, "mailbox"), w.mailboxDepth)
    }
    values.set("o\u0000changes", sum.rated ? sum.changes : undefined)
    values.set("o\u0000rows", sum.rated ? sum.rows : undefined)
    values.set("o\u0000lag", sum.lagSeen ? sum.lag : undefined)
    values.set("o\u0000wal", sum.walSeen ? sum.wal : undefined)
    ring.push(now / 1000, values)
  })

  const growth = (column: string): number | undefined => {
    const newest = ring.at(column, 0)
    const back = Math.min(ring.size() - 1, Math.ceil(GROWTH_WINDOW_MS / intervalMs))
    const older = back > 0 ? ring.at(column, back) : undefined
    if (newest === undefined || older === undefined || newest.t <= older.t) return undefined
    return (newest.value - older.value) / (newest.t - older.t)
  }

  const view = Effect.sync((): SeriesView => {
    const w = ring.read()
    const col = (name: string): Points => w.columns.get(name) ?? w.t.map(() => null)
    const targets = [...w.columns.keys()]
      .filter((k) => k.startsWith("t\u0000") && k.endsWith("\u0000mailbox"))
      .map((k) => k.split("\u0000")[1]!)
    return {
      intervalMs,
      windowMinutes,
      t: w.t,
      overall: {
        changesPerSec: col("o\u0000changes"),
        rowsPerSec: col("o\u0000rows"),
        lagSeconds: col("o\u0000lag"),
        retainedWalBytes: col("o\u0000wal")
      },
      sources: sources.map(({ database, sid }) => ({
        database,
        sid,
        changesPerSec: col(src(database, sid, "changes")),
        rowsPerSec: col(src(database, sid, "rows")),
        lagSeconds: col(src(database, sid, "lag")),
        retainedWalBytes: col(src(database, sid, "wal")),
        safeWalSizeBytes: col(src(database, sid, "safe")),
        warning: slotWarning({
          retainedBytes: ring.last(src(database, sid, "wal")),
          safeWalSizeBytes: ring.last(src(database, sid, "safe")),
          growthBytesPerSecond: growth(src(database, sid, "wal"))
        })
      })),
      tables: targets.map((target) => ({
        target,
        rowsPerSec: col(tbl(target, "rows")),
        mailboxDepth: col(tbl(target, "mailbox"))
      }))
    }
  })

  const loop = Effect.forever(Effect.zipRight(sample, Effect.sleep(intervalMs)))
  if (config.api.enabled) yield* Effect.forkScoped(loop)
  return { view, sample } satisfies SeriesShape
})

/** the ring and its sampler fiber (only when the API is enabled), both ending with the layer's scope */
export const SeriesLive: Layer.Layer<Series, never, AppConfig | Writers | Acknowledger | LiveMapping> = Layer.scoped(
  Series,
  makeSeries
)
