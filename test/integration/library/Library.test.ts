/**
 * The library example of docs/library.md, compiled and run against embedded Postgres: the real source
 * reader streaming into a caller's own Sink (an in-memory list). Imports walferry only through its main
 * export, as a user of the package would.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Layer, Logger, LogLevel } from "effect"
import {
  AcknowledgerLive,
  AppConfig,
  appConfigLayer,
  DELETE,
  DestinationLive,
  INSERT,
  loadConfig,
  runSource,
  ServiceBaseLive,
  Sink,
  UPDATE,
  WritersLive,
  type Change,
  type SinkShape
} from "../../../src/index.js"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"

// ---- the example (docs/library.md) ----

/** a Sink that keeps every applied change in memory; it never stops a table and stores no positions */
const memorySink = (applied: Array<Change>): SinkShape => ({
  open: (spec) =>
    Effect.succeed({
      name: spec.target,
      problem: undefined,
      positions: new Map(),
      apply: (batch) => Effect.sync(() => void applied.push(...batch))
    })
})

/** the real source reader of the first source URL, its changes applied to `applied` */
const streamToMemory = (applied: Array<Change>) =>
  Effect.gen(function* () {
    const config = yield* AppConfig
    const group = config.sources[0]!
    return yield* runSource(group, group.urls[0]!)
  }).pipe(
    Effect.provide(
      WritersLive.pipe(
        Layer.provideMerge(AcknowledgerLive),
        Layer.provideMerge(Layer.succeed(Sink, memorySink(applied))),
        // the initial copy still lands in destination.url: this prepares walferry's tables there
        Layer.provideMerge(DestinationLive)
      )
    )
  )

const program = (env: Record<string, string>, applied: Array<Change>) =>
  Effect.gen(function* () {
    const { config } = yield* loadConfig({ env })
    return yield* streamToMemory(applied).pipe(Effect.provide(Layer.merge(appConfigLayer(config), ServiceBaseLive)))
  })

// ---- the test ----

describe("library entry: the source reader with an in-memory sink", () => {
  let source: TestPg
  let dest: TestPg
  const applied: Array<Change> = []
  let fiber: Fiber.RuntimeFiber<unknown, unknown> | undefined

  const waitFor = async (what: string, check: () => boolean | Promise<boolean>) => {
    const until = Date.now() + 30_000
    while (!(await check())) {
      if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
      await new Promise((r) => setTimeout(r, 50))
    }
  }

  beforeAll(async () => {
    ;[source, dest] = await startTestPgs(2, { version: latestVersion() })
    const sourceUrl = await source.createDatabase("shop")
    const targetUrl = await dest.createDatabase("copy")
    await source.query(
      "create table items (id int primary key, name text); insert into items values (1, 'a'), (2, 'b')",
      [],
      "shop"
    )
    await dest.query("create table items (id int primary key, name text)", [], "copy")
    const env = { SOURCE_URL: sourceUrl, TARGET_URL: targetUrl, TABLES: "items", WALFERRY_NAMING__PREFIX: "lib" }
    fiber = Effect.runFork(program(env, applied).pipe(Effect.provide(Logger.minimumLogLevel(LogLevel.Warning))))
    await waitFor("the slot to stream", async () => {
      const rows = await source.query("select count(*)::int n from pg_replication_slots where active", [], "shop")
      return rows[0].n === 1
    })
  })

  afterAll(async () => {
    if (fiber) await Effect.runPromise(Fiber.interrupt(fiber))
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("hands every streamed change to the sink, in commit order", async () => {
    await source.query("insert into items values (3, 'c'), (4, 'd')", [], "shop")
    await source.query("update items set name = 'C' where id = 3", [], "shop")
    await source.query("delete from items where id = 1", [], "shop")
    await waitFor("4 changes", () => applied.length >= 4)
    expect(applied.map((c) => (c._tag === "Row" ? [c.op, c.relation.name, c.newTuple ?? c.oldTuple] : c._tag))).toEqual(
      [
        [INSERT, "items", ["3", "c"]],
        [INSERT, "items", ["4", "d"]],
        [UPDATE, "items", ["3", "C"]],
        [DELETE, "items", ["1", null]]
      ]
    )
    expect(applied.every((c, i) => i === 0 || c.lsn >= applied[i - 1]!.lsn)).toBe(true)
  })

  it("confirms what the sink applied to the source slot", async () => {
    const last = applied[applied.length - 1]!.lsn
    await waitFor("the slot to confirm the last change", async () => {
      const [row] = await source.query<{ lsn: string }>(
        "select (confirmed_flush_lsn - '0/0')::text as lsn from pg_replication_slots where slot_name = 'lib_shop'",
        [],
        "shop"
      )
      return row !== undefined && BigInt(row.lsn) >= last
    })
  })

  it("leaves the initial copy to the destination Postgres (it does not go through the sink)", async () => {
    expect(await dest.query("select id, name from items order by id", [], "copy")).toEqual([
      { id: 1, name: "a" },
      { id: 2, name: "b" }
    ])
  })
})
