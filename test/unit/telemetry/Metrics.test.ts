import { describe, expect, it, vi } from "@effect/vitest"
import {
  batchRows,
  collectFromStatus,
  confirmedLsn,
  countError,
  countRestart,
  heartbeat,
  lagCurrentSeconds,
  observeBatch,
  operationsSeconds,
  operationsTotal,
  recordBatch,
  recordSyncCopy,
  registry,
  setLag,
  setSlotWal,
  setSyncProgress,
  sourceReadings,
  syncProgress
} from "../../../src/telemetry/Metrics.js"

type Labels = Record<string, string | number>

const valueOf = async (
  metric: { get: () => Promise<{ values: Array<{ labels: Labels; value: number; metricName?: string }> }> },
  labels: Labels,
  name?: string
) => {
  const { values } = await metric.get()
  const hit = values.find(
    (v) => (name === undefined || v.metricName === name) && Object.entries(labels).every(([k, x]) => v.labels[k] === x)
  )
  return hit?.value
}

const ops = (operation: string, result = "success") => ({ database: "db", sid: "1", table: "t", operation, result })

describe("Metrics", () => {
  it("counts a batch per operation and observes its duration once per operation present", async () => {
    recordBatch("t", "db", "1", { insert: 5, update: 0, delete: 2, truncate: 0 }, 0.5)
    recordBatch("t", "db", "1", { insert: 1, update: 0, delete: 0, truncate: 1 }, 0.1)
    recordBatch("t", "db", "1", { insert: 0, update: 3, delete: 0, truncate: 0 }, 0.2, "failure")
    expect(await valueOf(operationsTotal, ops("insert"))).toBe(6)
    expect(await valueOf(operationsTotal, ops("delete"))).toBe(2)
    expect(await valueOf(operationsTotal, ops("truncate"))).toBe(1)
    expect(await valueOf(operationsTotal, ops("update"))).toBeUndefined()
    expect(await valueOf(operationsTotal, ops("update", "failure"))).toBe(3)
    expect(await valueOf(operationsSeconds, ops("insert"), "streamer_operations_seconds_count")).toBe(2)
    expect(await valueOf(operationsSeconds, ops("insert"), "streamer_operations_seconds_sum")).toBeCloseTo(0.6)
    expect(await valueOf(operationsSeconds, ops("delete"), "streamer_operations_seconds_count")).toBe(1)
  })

  it("builds the labelled children once per key and reuses them", () => {
    const counterLabels = vi.spyOn(operationsTotal, "labels")
    const histogramLabels = vi.spyOn(operationsSeconds, "labels")
    const batchLabels = vi.spyOn(batchRows, "labels")
    const counts = { insert: 1, update: 1, delete: 1, truncate: 1 }
    recordBatch("fresh", "db", "9", counts, 0.01)
    observeBatch("fresh", 4, 0.01)
    expect(counterLabels).toHaveBeenCalledTimes(8)
    expect(histogramLabels).toHaveBeenCalledTimes(8)
    expect(batchLabels).toHaveBeenCalledTimes(1)
    for (let i = 0; i < 100; i++) {
      recordBatch("fresh", "db", "9", counts, 0.01)
      observeBatch("fresh", 4, 0.01)
    }
    expect(counterLabels).toHaveBeenCalledTimes(8)
    expect(histogramLabels).toHaveBeenCalledTimes(8)
    expect(batchLabels).toHaveBeenCalledTimes(1)
    recordBatch("other", "db", "9", counts, 0.01)
    expect(counterLabels).toHaveBeenCalledTimes(16)
    vi.restoreAllMocks()
  })

  it("keeps source readings for /status next to the gauges", async () => {
    heartbeat("db", "2", 1_700_000_000_500)
    setLag("db", "2", 1.5)
    setLag("db", "2", -0.01)
    setSlotWal("db", "2", 123_456n, 1n << 40n)
    expect(sourceReadings("db", "2")).toEqual({
      heartbeat: 1_700_000_000.5,
      lagSeconds: 0,
      retainedWalBytes: 123_456,
      safeWalSizeBytes: 2 ** 40,
      changesApplied: 0,
      rowsCopied: 0
    })
    expect(sourceReadings("db", "unknown")).toBeUndefined()
    expect(await valueOf(lagCurrentSeconds, { database: "db", sid: "2" })).toBe(0)
    const text = await registry.metrics()
    expect(text).toContain('url_heartbeat{database="db",sid="2"} 1700000000.5')
    expect(text).toContain('walferry_lag_seconds_count{database="db",sid="2"} 2')
    expect(text).toContain('walferry_slot_retained_wal_bytes{database="db",sid="2"} 123456')
    expect(text).toContain(`walferry_slot_safe_wal_size_bytes{database="db",sid="2"} ${2 ** 40}`)
  })

  it("records sync copies, sync progress, batches, restarts and errors", async () => {
    recordSyncCopy("public.t", "db", "1", 100, 2048)
    recordSyncCopy("public.t", "db", "1", 50, 1024)
    setSyncProgress("t", { chunksDone: 2, chunksTotal: 8, rows: 150 })
    observeBatch("t", 250, 0.3)
    countRestart("source", "SourceDisconnected")
    countRestart("source", "SourceDisconnected")
    countError("WriteFailed")
    expect(syncProgress("t")).toEqual({ chunksDone: 2, chunksTotal: 8, rows: 150 })
    const text = await registry.metrics()
    expect(text).toContain('streamer_sync_rows_total{database="db",sid="1",table="public.t"} 150')
    expect(text).toContain('streamer_sync_bytes_total{database="db",sid="1",table="public.t"} 3072')
    expect(text).toContain('walferry_sync_chunks_done{table="t"} 2')
    expect(text).toContain('walferry_sync_chunks_total{table="t"} 8')
    expect(text).toContain('walferry_sync_rows{table="t"} 150')
    expect(text).toContain('walferry_batch_rows_bucket{le="250",table="t"} 1')
    expect(text).toContain('walferry_restarts_total{scope="source",tag="SourceDisconnected"} 2')
    expect(text).toContain('walferry_errors_total{tag="WriteFailed"} 1')
  })

  it("fills state gauges from a status snapshot and drops what disappeared", async () => {
    const source = (key: string, database: string, sid: string) => ({
      source: key,
      database,
      sid,
      state: "streaming" as const,
      error: undefined,
      since: 0,
      restarts: 0
    })
    const ack = (key: string, confirmed: bigint) => ({
      source: key,
      confirmed,
      received: confirmed + 10n,
      outstanding: 0,
      capped: undefined
    })
    const writer = (target: string, stopped: boolean) => ({
      target,
      state: stopped ? ("stopped" as const) : ("streaming" as const),
      error: undefined,
      rowsApplied: 0,
      batches: 0,
      lastLsn: 0n,
      mailboxDepth: 7
    })
    collectFromStatus({
      sources: [source("db/1", "db", "1")],
      acks: [ack("db/1", 0x1_0000_0000n), ack("other/", 5n)],
      writers: [writer("t", true), writer("u", false)]
    })
    let text = await registry.metrics()
    expect(text).toContain(`walferry_confirmed_lsn{database="db",sid="1"} ${2 ** 32}`)
    expect(text).toContain(`walferry_received_lsn{database="db",sid="1"} ${2 ** 32 + 10}`)
    expect(text).toContain('walferry_confirmed_lsn{database="other",sid=""} 5')
    expect(text).toContain('walferry_table_stopped{table="t"} 1')
    expect(text).toContain('walferry_table_stopped{table="u"} 0')
    expect(text).toContain('walferry_mailbox_depth{table="u"} 7')
    collectFromStatus({ sources: [], acks: [ack("db/1", 1n)], writers: [writer("u", false)] })
    text = await registry.metrics()
    expect(await valueOf(confirmedLsn, { database: "db", sid: "1" })).toBe(1)
    expect(text).not.toContain('database="other"')
    expect(text).not.toContain('walferry_table_stopped{table="t"}')
  })

  it("registers the default process metrics in the same registry", async () => {
    const text = await registry.metrics()
    expect(text).toContain("process_cpu_user_seconds_total")
    expect(text).toContain("nodejs_heap_size_used_bytes")
  })
})
