/**
 * Traces: the OTEL_* switch, and the spans of a real engine run (embedded Postgres) collected by an
 * in-memory exporter through the same NodeSdk layer the service uses.
 */
import { InMemorySpanExporter, SimpleSpanProcessor, type ReadableSpan } from "@opentelemetry/sdk-trace-base"
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Logger, LogLevel, type Tracer } from "effect"
import { appConfigLayer } from "../../../src/config/AppConfig.js"
import { runEngine } from "../../../src/pipeline/Engine.js"
import { ServiceBaseLive } from "../../../src/pipeline/Service.js"
import { serviceNameOf, tracingEnabled, TracingEnabled, tracingLayer } from "../../../src/telemetry/Tracing.js"
import { pipelineConfig, waitFor } from "../../support/engine.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
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

/** decimal or Postgres' text form */
const LSN = /^(\d+|[0-9A-F]+\/[0-9A-F]+)$/

describe("spans of an engine run", () => {
  let source: TestPg
  let dest: TestPg
  let srcUrl: string
  let dstUrl: string
  const exporter = new InMemorySpanExporter()
  let fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined

  const batchSpans = (table: string): Array<ReadableSpan> =>
    exporter.getFinishedSpans().filter((s) => s.name === "TableWriter.batch" && s.attributes.table === table)
  const rowsIn = (spans: ReadonlyArray<ReadableSpan>) => spans.reduce((n, s) => n + Number(s.attributes.rows), 0)

  beforeAll(async () => {
    ;[source, dest] = await Promise.all([
      startTestPg({ version: latestVersion() }),
      startTestPg({ version: latestVersion() })
    ])
    srcUrl = await source.createDatabase("shop")
    dstUrl = await dest.createDatabase("warehouse")
    await source.query("create table items (id int primary key, name text)", [], "shop")
    await dest.query("create table items (id int primary key, name text)", [], "warehouse")
    const config = pipelineConfig({
      destination: dstUrl,
      sources: [{ database: "shop", urls: [{ url: srcUrl, sid: "" }], tables: ["items"] }],
      prefix: "traced"
    })
    const layer = Layer.mergeAll(appConfigLayer(config), ServiceBaseLive, Logger.minimumLogLevel(LogLevel.Warning))
    const tracing = tracingLayer(new SimpleSpanProcessor(exporter), "walferry-test")
    fiber = Effect.runFork(runEngine.pipe(Effect.provide(layer), Effect.provide(tracing)))
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
      async () => (await dest.query("select count(*)::int n from items", [], "warehouse"))[0].n === 5
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

  it("keeps spans in Effect only when no tracing layer is provided", async () => {
    const span = await Effect.runPromise(Effect.currentSpan.pipe(Effect.withSpan("probe")))
    expect((span as Tracer.Span).name).toBe("probe")
    expect(exporter.getFinishedSpans().some((s) => s.name === "probe")).toBe(false)
  })
})
