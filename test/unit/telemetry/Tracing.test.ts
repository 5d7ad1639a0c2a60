/**
 * Traces: the OTEL_* switch, and the spans of a real engine run (embedded Postgres) collected by an
 * in-memory exporter through the same NodeSdk layer the service uses: sync chunks, source transactions, the
 * batches that applied them (linked to those transactions), and a source restart.
 */
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Logger, LogLevel, SubscriptionRef, type Tracer } from "effect"
import { appConfigLayer } from "../../../src/config/AppConfig.js"
import * as Lsn from "../../../src/domain/Lsn.js"
import { RunSwitch, type RunSwitchShape } from "../../../src/pipeline/Control.js"
import { runEngine } from "../../../src/pipeline/Engine.js"
import { ServiceBaseLive } from "../../../src/pipeline/Service.js"
import { batchSpan, makeSourceTxTracer } from "../../../src/telemetry/SourceTxTracer.js"
import { serviceNameOf, tracingEnabled, TracingEnabled, tracingLayer } from "../../../src/telemetry/Tracing.js"
import { relation, source as changesOf } from "../../support/changes.js"
import { pipelineConfig, waitFor } from "../../support/engine.js"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"

describe("tracing switch", () => {
  it("is off unless an OTLP endpoint is set", () => {
    expect(tracingEnabled({})).toBe(false)
    expect(tracingEnabled({ OTEL_SERVICE_NAME: "x" })).toBe(false)
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" })).toBe(true)
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: "http://c:4318/v1/traces" })).toBe(true)
    expect(tracingEnabled({ OTEL_EXPORTER_OTLP_ENDPOINT: " " })).toBe(false)
  })

  it("honours OTEL_TRACES_EXPORTER=none and OTEL_SDK_DISABLED", () => {
    const endpoint = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318" }
    expect(tracingEnabled({ ...endpoint, OTEL_TRACES_EXPORTER: "none" })).toBe(false)
    expect(tracingEnabled({ ...endpoint, OTEL_TRACES_EXPORTER: "otlp" })).toBe(true)
    expect(tracingEnabled({ ...endpoint, OTEL_SDK_DISABLED: "true" })).toBe(false)
  })

  it("tells the code whether spans are exported", async () => {
    expect(await Effect.runPromise(TracingEnabled)).toBe(false)
    const on = tracingLayer(new SimpleSpanProcessor(new InMemorySpanExporter()))
    expect(await Effect.runPromise(Effect.provide(TracingEnabled, on))).toBe(true)
  })

  it("names the service walferry unless OTEL_SERVICE_NAME says otherwise", () => {
    expect(serviceNameOf({})).toBe("walferry")
    expect(serviceNameOf({ OTEL_SERVICE_NAME: "cdc-eu" })).toBe("cdc-eu")
  })
})

describe("source transaction traces when tracing is off", () => {
  const items = relation("items", ["id", "name"], { key: ["id"] })

  it("makes no transaction tracer, and batch spans get attributes but no links", async () => {
    expect(await Effect.runPromise(makeSourceTxTracer({ source: "shop/", database: "shop", sid: "" }))).toBe(undefined)
    const src = changesOf()
    const first = src.insert(items, { id: "1", name: "a" })
    src.commit()
    const last = src.insert(items, { id: "2", name: "b" })
    const options = batchSpan("items", [first, last])
    expect(options).toEqual({
      attributes: { table: "items", rows: 2, firstLsn: "1/0", lastLsn: "1/100" }
    })
    expect(options.links).toBe(undefined)
  })

  it("links a batch to each source transaction once", async () => {
    const exporter = new InMemorySpanExporter()
    const on = tracingLayer(new SimpleSpanProcessor(exporter))
    const tracer = (await Effect.runPromise(
      Effect.provide(makeSourceTxTracer({ source: "shop/", database: "shop", sid: "" }), on)
    ))!
    expect(tracer).toBeDefined()
    const t1 = tracer.begin(7, 0x10n, 1_700_000_000_000_000n)
    const t2 = tracer.begin(8, 0x20n, 1_700_000_000_000_000n)
    const src = changesOf()
    const changes = [
      { ...src.insert(items, { id: "1", name: "a" }), tx: t1 },
      { ...src.insert(items, { id: "2", name: "b" }), tx: t1 },
      { ...src.insert(items, { id: "3", name: "c" }), tx: t2 }
    ]
    const options = batchSpan("items", changes)
    expect(options.attributes.sourceTransactions).toBe(2)
    expect(options.links?.map((l) => l.span)).toEqual([t1.span, t2.span])
  })
})

/** decimal or Postgres' text form */
const LSN = /^(\d+|[0-9A-F]+\/[0-9A-F]+)$/

describe("spans of an engine run", () => {
  let source: TestPg
  let dest: TestPg
  let srcUrl: string
  let dstUrl: string
  const exporter = new InMemorySpanExporter()
  let fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined
  let runSwitch: RunSwitchShape | undefined

  const batchSpans = (table: string): Array<ReadableSpan> =>
    exporter.getFinishedSpans().filter((s) => s.name === "TableWriter.batch" && s.attributes.table === table)
  const rowsIn = (spans: ReadonlyArray<ReadableSpan>) => spans.reduce((n, s) => n + Number(s.attributes.rows), 0)

  beforeAll(async () => {
    ;[source, dest] = await startTestPgs(2, { version: latestVersion() })
    srcUrl = await source.createDatabase("shop")
    dstUrl = await dest.createDatabase("warehouse")
    await source.query("create table items (id int primary key, name text)", [], "shop")
    await dest.query("create table items (id int primary key, name text)", [], "warehouse")
    await source.query("insert into items select i, 'seed ' || i from generate_series(101, 103) i", [], "shop")
    const config = pipelineConfig({
      destination: dstUrl,
      sources: [{ database: "shop", urls: [{ url: srcUrl, sid: "" }], tables: ["items"] }],
      prefix: "traced"
    })
    const layer = Layer.mergeAll(appConfigLayer(config), ServiceBaseLive, Logger.minimumLogLevel(LogLevel.Warning))
    const tracing = tracingLayer(new SimpleSpanProcessor(exporter), "walferry-test")
    const engine = Effect.zipRight(
      Effect.map(RunSwitch, (sw) => (runSwitch = sw)),
      runEngine
    )
    fiber = Effect.runFork(engine.pipe(Effect.provide(layer), Effect.provide(tracing)))
    await waitFor("slot active", async () => {
      const rows = await source.query("select count(*)::int n from pg_replication_slots where active", [], "shop")
      return rows[0].n === 1
    })
  })

  afterAll(async () => {
    if (fiber) await Effect.runPromise(Fiber.interrupt(fiber))
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("exports one TableWriter.batch span per applied batch, with table, rows and LSN attributes", async () => {
    await source.query(
      "insert into items select i, 'item ' || i from generate_series(1, 5) i; update items set name = 'x' where id = 1",
      [],
      "shop"
    )
    await waitFor(
      "rows applied",
      async () => (await dest.query("select count(*)::int n from items", [], "warehouse"))[0].n === 8
    )
    await waitFor("batch spans", async () => rowsIn(batchSpans("items")) === 6)
    const spans = batchSpans("items")
    expect(spans.length).toBeGreaterThanOrEqual(1)
    for (const span of spans) {
      expect(span.attributes.rows).toBeGreaterThan(0)
      expect(String(span.attributes.firstLsn)).toMatch(LSN)
      if (span.attributes.lastLsn !== undefined) expect(String(span.attributes.lastLsn)).toMatch(LSN)
      expect(span.status.code).not.toBe(2)
      expect(span.resource.attributes["service.name"]).toBe("walferry-test")
    }
    expect(fiber && Exit.isExit(fiber.unsafePoll())).toBe(false)
  })

  it("exports a Sync.chunk span per initial-sync chunk", () => {
    const chunks = exporter.getFinishedSpans().filter((s) => s.name === "Sync.chunk")
    expect(chunks.length).toBe(1)
    expect(chunks[0]!.attributes).toMatchObject({
      table: "public.items",
      target: "items",
      source: "shop/",
      chunk: 0,
      chunks: 1,
      mode: "snapshot",
      rows: 3
    })
  })

  it("opens a span per source transaction and links every batch span to the transactions it applied", async () => {
    const before = new Set(batchSpans("items").map((s) => s.spanContext().spanId))
    await source.query("insert into items values (6, 'a'), (7, 'b')", [], "shop")
    await source.query("insert into items values (8, 'c'); delete from items where id = 7", [], "shop")
    await waitFor("batch spans", async () => rowsIn(batchSpans("items")) === 10)
    const txs = new Map(
      exporter
        .getFinishedSpans()
        .filter((s) => s.name === "Source.transaction" && Number(s.attributes.changes) > 0)
        .map((s) => [s.spanContext().spanId, s])
    )
    const changes = [...txs.values()].map((s) => s.attributes.changes).sort()
    expect(changes).toEqual([2, 2, 6])
    for (const tx of txs.values()) {
      expect(tx.attributes).toMatchObject({ source: "shop/", database: "shop", sid: "" })
      expect(typeof tx.attributes.xid).toBe("number")
      expect(String(tx.attributes.commitLsn)).toMatch(LSN)
      expect(String(tx.attributes.endLsn)).toMatch(LSN)
      expect(Date.parse(String(tx.attributes.commitTime))).toBeGreaterThan(Date.now() - 600_000)
      expect(tx.parentSpanContext).toBe(undefined)
    }
    const linked = new Set<string>()
    for (const batch of batchSpans("items")) {
      expect(batch.links.length).toBe(batch.attributes.sourceTransactions)
      expect(batch.attributes.attempts).toBe(1)
      expect(Number(batch.attributes.destinationTransactionMs)).toBeGreaterThan(0)
      const first = Lsn.parse(String(batch.attributes.firstLsn))
      const last = Lsn.parse(String(batch.attributes.lastLsn))
      for (const link of batch.links) {
        const tx = txs.get(link.context.spanId)
        expect(tx, "a link points to an exported source transaction").toBeDefined()
        expect(link.context.traceId).toBe(tx!.spanContext().traceId)
        const commit = Lsn.parse(String(tx!.attributes.commitLsn))
        expect(commit >= first && commit <= last).toBe(true)
        linked.add(link.context.spanId)
      }
    }
    expect([...linked].sort()).toEqual([...txs.keys()].sort())
    expect(batchSpans("items").some((s) => !before.has(s.spanContext().spanId))).toBe(true)
  })

  it("exports a Sync.chunk span per chunk of a resync copied while streaming", async () => {
    await Effect.runPromise(SubscriptionRef.update(runSwitch!.resyncs, (s) => new Set([...s, "items"])))
    await waitFor("watermark chunk span", async () =>
      exporter.getFinishedSpans().some((s) => s.name === "Sync.chunk" && s.attributes.mode === "watermark")
    )
    const chunk = exporter.getFinishedSpans().find((s) => s.name === "Sync.chunk" && s.attributes.mode === "watermark")!
    expect(chunk.attributes).toMatchObject({ table: "public.items", target: "items", source: "shop/", chunk: 0 })
    expect(chunk.attributes.rows).toBe(10)
    expect(chunk.status.code).not.toBe(2)
  })

  it("exports a Source.restart span when the source connection is lost", async () => {
    await source.query(
      "select pg_terminate_backend(active_pid) from pg_replication_slots where slot_name like 'traced%'",
      [],
      "shop"
    )
    await waitFor("restart span", async () => exporter.getFinishedSpans().some((s) => s.name === "Source.restart"))
    const restart = exporter.getFinishedSpans().find((s) => s.name === "Source.restart")!
    expect(restart.attributes).toMatchObject({ source: "shop/", restarts: 1 })
    expect(String(restart.attributes.error)).not.toBe("")
    await waitFor("streaming again", async () => {
      await source.query("insert into items values (9, 'after restart') on conflict do nothing", [], "shop")
      return (await dest.query("select count(*)::int n from items where id = 9", [], "warehouse"))[0].n === 1
    })
  })

  it("keeps spans in Effect only when no tracing layer is provided", async () => {
    const span = await Effect.runPromise(Effect.currentSpan.pipe(Effect.withSpan("probe")))
    expect((span as Tracer.Span).name).toBe("probe")
    expect(exporter.getFinishedSpans().some((s) => s.name === "probe")).toBe(false)
  })
})
