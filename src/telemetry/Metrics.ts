/**
 * Every Prometheus metric of walferry, in one registry served at `/metrics`. kuvasz-streamer's names and labels
 * (`streamer_*`, `url_heartbeat`) are kept so its dashboards keep working; walferry's own start with `walferry_`.
 * Helpers called per batch cache their labelled children (one map lookup per label, no label objects). Gauges
 * that mirror actor state (LSNs, mailbox depth, stopped tables) are filled at scrape time by `collectFromStatus`,
 * the heartbeat (noted per socket read) by its own `collect`.
 */
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client"
import type { SourceAckState } from "../ack/Acknowledger.js"
import type { SourceState } from "../pipeline/EngineStatus.js"
import type { WriterStatus } from "../writers/TableWriter.js"

export const registry = new Registry()
collectDefaultMetrics({ register: registry })

const registers = [registry]
const SOURCE = ["database", "sid"] as const
const TABLE = ["table"] as const
const SOURCE_TABLE = ["database", "sid", "table"] as const
const OPERATION = ["database", "sid", "table", "operation", "result"] as const
const SECONDS = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30]
const LAG = [0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600]
const ROWS = [1, 5, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000]

const counter = <L extends string>(name: string, help: string, labelNames: ReadonlyArray<L>) =>
  new Counter<L>({ name, help, labelNames, registers })
const gauge = <L extends string>(
  name: string,
  help: string,
  labelNames: ReadonlyArray<L>,
  collect?: (this: Gauge<L>) => void
) => new Gauge<L>({ name, help, labelNames, registers, ...(collect ? { collect } : {}) })
const histogram = <L extends string>(name: string, help: string, labelNames: ReadonlyArray<L>, buckets: number[]) =>
  new Histogram<L>({ name, help, labelNames, buckets, registers })

export const operationsTotal = counter("streamer_operations_total", "Destination operations applied", OPERATION)
export const operationsSeconds = histogram("streamer_operations_seconds", "Batch apply time", OPERATION, SECONDS)
export const syncRowsTotal = counter("streamer_sync_rows_total", "Rows copied by initial sync", SOURCE_TABLE)
export const syncBytesTotal = counter("streamer_sync_bytes_total", "Bytes copied by initial sync", SOURCE_TABLE)
/** set at scrape time from the readings: the reader notes a heartbeat per socket read, a gauge set hashes its labels */
export const urlHeartbeat = gauge(
  "url_heartbeat",
  "Unix seconds of the last message or keepalive",
  SOURCE,
  function () {
    for (const s of readingsByKey.values())
      if (s.readings.heartbeat !== undefined) this.labels(s.database, s.sid).set(s.readings.heartbeat)
  }
)
export const lagSeconds = histogram("walferry_lag_seconds", "Source commit to destination commit", SOURCE, LAG)
export const lagCurrentSeconds = gauge("walferry_lag_current_seconds", "Lag of the last applied transaction", SOURCE)
export const confirmedLsn = gauge("walferry_confirmed_lsn", "LSN confirmed to the source slot (bytes)", SOURCE)
export const receivedLsn = gauge("walferry_received_lsn", "Highest LSN received from the source (bytes)", SOURCE)
export const slotRetainedWal = gauge("walferry_slot_retained_wal_bytes", "WAL retained by the slot", SOURCE)
export const slotSafeWalSize = gauge("walferry_slot_safe_wal_size_bytes", "WAL left before the slot is lost", SOURCE)
export const mailboxDepth = gauge("walferry_mailbox_depth", "Changes waiting in a table writer mailbox", TABLE)
export const batchRows = histogram("walferry_batch_rows", "Rows per applied batch", TABLE, ROWS)
export const batchSeconds = histogram("walferry_batch_seconds", "Duration of applied batches", TABLE, SECONDS)
export const restartsTotal = counter("walferry_restarts_total", "Source or pipeline restarts", ["scope", "tag"])
export const errorsTotal = counter("walferry_errors_total", "Errors by tag", ["tag"])
export const expressionFailuresTotal = counter(
  "walferry_expression_failures_total",
  "Rows not applied because their CEL filter or set failed to evaluate",
  SOURCE_TABLE
)
export const syncChunksDone = gauge("walferry_sync_chunks_done", "Initial sync chunks copied", TABLE)
export const syncChunksTotal = gauge("walferry_sync_chunks_total", "Initial sync chunks planned", TABLE)
export const syncRows = gauge("walferry_sync_rows", "Rows copied by the running initial sync", TABLE)
export const tableStopped = gauge("walferry_table_stopped", "1 when the table is stopped on a permanent error", TABLE)

export type Operation = "insert" | "update" | "delete" | "truncate"
export type OperationResult = "success" | "failure"
export type OperationCounts = Readonly<Record<Operation, number>>

/** per key, a child built once on first use */
const cached = <K, V>(make: (key: K) => V) => {
  const map = new Map<K, V>()
  return (key: K): V => {
    let v = map.get(key)
    if (v === undefined) {
      v = make(key)
      map.set(key, v)
    }
    return v
  }
}

/** children keyed database → sid → table without building a composite key */
const bySourceTable = <V>(make: (database: string, sid: string, table: string) => V) =>
  cached((database: string) => cached((sid: string) => cached((table: string) => make(database, sid, table))))

const bySource = <V>(make: (database: string, sid: string) => V) =>
  cached((database: string) => cached((sid: string) => make(database, sid)))

const OPERATIONS: ReadonlyArray<Operation> = ["insert", "update", "delete", "truncate"]

const operationChildren = bySourceTable((database, sid, table) => {
  const per = (result: OperationResult) =>
    OPERATIONS.map((operation) => ({
      operation,
      count: operationsTotal.labels(database, sid, table, operation, result),
      seconds: operationsSeconds.labels(database, sid, table, operation, result)
    }))
  return { success: per("success"), failure: per("failure") }
})

/**
 * Counts one applied (or failed) batch slice of one source into one table: `streamer_operations_total` by operation
 * and one `streamer_operations_seconds` observation per operation present. `table` is the source table name.
 */
export const recordBatch = (
  table: string,
  database: string,
  sid: string,
  counts: OperationCounts,
  seconds: number,
  result: OperationResult = "success"
): void => {
  if (result === "success") {
    sourceOf(database)(sid).readings.changesApplied += counts.insert + counts.update + counts.delete + counts.truncate
  }
  for (const child of operationChildren(database)(sid)(table)[result]) {
    const n = counts[child.operation]
    if (n > 0) {
      child.count.inc(n)
      child.seconds.observe(seconds)
    }
  }
}

const batchChildren = cached((table: string) => ({
  rows: batchRows.labels(table),
  seconds: batchSeconds.labels(table)
}))

/** one destination transaction of a table writer (`table` is the destination table) */
export const observeBatch = (table: string, rows: number, seconds: number): void => {
  const c = batchChildren(table)
  c.rows.observe(rows)
  c.seconds.observe(seconds)
}

const syncChildren = bySourceTable((database, sid, table) => ({
  rows: syncRowsTotal.labels(database, sid, table),
  bytes: syncBytesTotal.labels(database, sid, table)
}))

const copiedByTable = new Map<string, number>()

export const recordSyncCopy = (table: string, database: string, sid: string, rows: number, bytes: number): void => {
  sourceOf(database)(sid).readings.rowsCopied += rows
  copiedByTable.set(table, (copiedByTable.get(table) ?? 0) + rows)
  const c = syncChildren(database)(sid)(table)
  c.rows.inc(rows)
  c.bytes.inc(bytes)
}

/** what `/status` shows per source besides the engine's own state */
export interface SourceReadings {
  lagSeconds: number | undefined
  retainedWalBytes: number | undefined
  safeWalSizeBytes: number | undefined
  heartbeat: number | undefined
  /** row changes applied to the destination since the process started (for the console's rates) */
  changesApplied: number
  /** rows copied by initial syncs and resyncs since the process started */
  rowsCopied: number
}

/** by `database/sid`, with the labels the scrape-time gauges need */
const readingsByKey = new Map<string, { readonly database: string; readonly sid: string; readings: SourceReadings }>()

const sourceOf = bySource((database, sid) => {
  const readings: SourceReadings = {
    lagSeconds: undefined,
    retainedWalBytes: undefined,
    safeWalSizeBytes: undefined,
    heartbeat: undefined,
    changesApplied: 0,
    rowsCopied: 0
  }
  readingsByKey.set(`${database}/${sid}`, { database, sid, readings })
  return {
    readings,
    lag: lagSeconds.labels(database, sid),
    lagCurrent: lagCurrentSeconds.labels(database, sid),
    retained: slotRetainedWal.labels(database, sid),
    safe: slotSafeWalSize.labels(database, sid)
  }
})

/** a message or keepalive arrived from the source */
export const heartbeat = (database: string, sid: string, nowMs: number = Date.now()): void => {
  sourceOf(database)(sid).readings.heartbeat = nowMs / 1000
}

/** end-to-end lag of a transaction just committed on the destination */
export const setLag = (database: string, sid: string, seconds: number): void => {
  const c = sourceOf(database)(sid)
  const s = seconds < 0 ? 0 : seconds
  c.readings.lagSeconds = s
  c.lag.observe(s)
  c.lagCurrent.set(s)
}

/** from `pg_replication_slots`; undefined values (PG < 13, unlimited keep size) are left unset */
export const setSlotWal = (
  database: string,
  sid: string,
  retained: bigint | number | undefined,
  safeWalSize: bigint | number | undefined
): void => {
  const c = sourceOf(database)(sid)
  if (retained !== undefined) {
    c.readings.retainedWalBytes = Number(retained)
    c.retained.set(Number(retained))
  }
  if (safeWalSize !== undefined) {
    c.readings.safeWalSizeBytes = Number(safeWalSize)
    c.safe.set(Number(safeWalSize))
  }
}

/** `database/sid` as the engine keys sources */
export const sourceReadings = (database: string, sid: string): SourceReadings | undefined =>
  readingsByKey.get(`${database}/${sid}`)?.readings

/** rows copied into a destination table since the process started */
export const rowsCopied = (table: string): number => copiedByTable.get(table) ?? 0

export interface SyncProgress {
  readonly chunksDone: number
  readonly chunksTotal: number
  readonly rows: number
}

const syncProgressByTable = new Map<string, SyncProgress>()

export const setSyncProgress = (table: string, progress: SyncProgress): void => {
  syncProgressByTable.set(table, progress)
  syncChunksDone.labels(table).set(progress.chunksDone)
  syncChunksTotal.labels(table).set(progress.chunksTotal)
  syncRows.labels(table).set(progress.rows)
}

export const syncProgress = (table: string): SyncProgress | undefined => syncProgressByTable.get(table)

export const countRestart = (scope: "source" | "pipeline", tag: string): void => restartsTotal.labels(scope, tag).inc()
export const countError = (tag: string): void => errorsTotal.labels(tag).inc()
export const countExpressionFailure = (database: string, sid: string, table: string): void =>
  expressionFailuresTotal.labels(database, sid, table).inc()

export interface StatusSnapshot {
  readonly sources: ReadonlyArray<SourceState>
  readonly acks: ReadonlyArray<SourceAckState>
  readonly writers: ReadonlyArray<WriterStatus>
}

/** Fills the state-mirroring gauges right before a scrape; sources and tables that disappeared are dropped. */
export const collectFromStatus = (snapshot: StatusSnapshot): void => {
  const labels = new Map(snapshot.sources.map((s) => [s.source, s] as const))
  confirmedLsn.reset()
  receivedLsn.reset()
  for (const a of snapshot.acks) {
    const s = labels.get(a.source)
    const slash = a.source.indexOf("/")
    const database = s?.database ?? (slash < 0 ? a.source : a.source.slice(0, slash))
    const sid = s?.sid ?? (slash < 0 ? "" : a.source.slice(slash + 1))
    confirmedLsn.labels(database, sid).set(Number(a.confirmed))
    receivedLsn.labels(database, sid).set(Number(a.received))
  }
  mailboxDepth.reset()
  tableStopped.reset()
  for (const w of snapshot.writers) {
    mailboxDepth.labels(w.target).set(w.mailboxDepth)
    tableStopped.labels(w.target).set(w.state === "stopped" ? 1 : 0)
  }
}

export const clusterRunnersAlive = gauge("walferry_cluster_runners_alive", "Runners with a live heartbeat", [])
export const clusterSourceOwner = gauge(
  "walferry_cluster_source_owner",
  "1 for the runner that owns the source (cluster mode)",
  ["database", "sid", "runner"]
)

/** cluster view → gauges: the runners alive and, per source, which runner owns it */
export const setClusterView = (
  runnersAlive: number,
  owners: ReadonlyArray<{ readonly database: string; readonly sid: string; readonly runner: string | undefined }>
): void => {
  clusterRunnersAlive.set(runnersAlive)
  clusterSourceOwner.reset()
  for (const o of owners) if (o.runner !== undefined) clusterSourceOwner.labels(o.database, o.sid, o.runner).set(1)
}
