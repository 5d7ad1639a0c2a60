/**
 * The Postgres sink's batch path on real Postgres: a batch whose statement waits (here on a row lock held
 * by another session) and whose writer is interrupted (a stop) must end at once, take its destination
 * session with it (the waiting statement is gone from pg_stat_activity) and leave nothing written, even
 * once the lock is released; the next batch then runs on a fresh pooled connection.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Fiber, Layer, Redacted } from "effect"
import pg from "pg"
import { appConfigLayer } from "../../../src/config/AppConfig.js"
import { DestinationLive } from "../../../src/sink/Destination.js"
import { PgSinkLive } from "../../../src/sink/PgSink.js"
import { Sink, type Position } from "../../../src/sink/Sink.js"
import { pipelineConfig, tableMapping, waitFor } from "../../support/engine.js"
import { loadRelation, source } from "../../support/changes.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"

let server: TestPg
let url: string
let admin: pg.Client

beforeAll(async () => {
  server = await startTestPg({ version: latestVersion() })
  url = await server.createDatabase("sinkint")
  admin = new pg.Client({ connectionString: url })
  await admin.connect()
  await admin.query("create table t (id int primary key, v text not null); insert into t values (1, 'a')")
})
afterAll(async () => {
  await admin?.end().catch(() => undefined)
  await server?.stop()
})

/** walferry's sessions on the destination waiting on a lock */
const waiting = async () =>
  (
    await admin.query<{ n: number }>(
      "select count(*)::int n from pg_stat_activity where application_name = 'walferry' and wait_event_type = 'Lock'"
    )
  ).rows[0]!.n

describe("PgSink batch path", () => {
  it.live(
    "an interrupted batch ends its statement in flight: nothing is written, the next batch commits",
    () =>
      Effect.gen(function* () {
        const sink = yield* Sink
        const spec = {
          target: "t",
          mapping: tableMapping("t"),
          sources: [{ source: "test/", url: Redacted.make(url) }]
        }
        const target = yield* sink.open(spec)
        const rel = yield* Effect.promise(() =>
          loadRelation(async (q, v) => (await admin.query(q, v as Array<unknown>)).rows, "public", "t")
        )
        const changes = source()
        const batch = [changes.update(rel, { id: "1", v: "b" })]
        const next = new Map<string, Position>([["test/", { lsn: batch[0]!.lsn, seq: batch[0]!.seq }]])

        const holder = new pg.Client({ connectionString: url })
        yield* Effect.promise(async () => {
          await holder.connect()
          await holder.query("begin; select * from t where id = 1 for update")
        })
        const apply = yield* Effect.fork(target.apply(batch, next))
        yield* Effect.promise(() => waitFor("the batch to wait on the row lock", async () => (await waiting()) === 1))
        const started = performance.now()
        yield* Fiber.interrupt(apply)
        expect(performance.now() - started).toBeLessThan(1000)
        yield* Effect.promise(() =>
          waitFor("the waiting session to be gone", async () => (await waiting()) === 0, 5000)
        )
        yield* Effect.promise(async () => {
          await holder.query("rollback")
          await holder.end()
        })
        yield* Effect.sleep("300 millis")
        const after = yield* Effect.promise(() => admin.query("select v from t where id = 1"))
        expect(after.rows).toEqual([{ v: "a" }])
        const stored = yield* Effect.promise(() => admin.query("select * from walferry.positions where target = 't'"))
        expect(stored.rowCount).toBe(0)

        const again = yield* Effect.exit(target.apply(batch, next))
        expect(Exit.isSuccess(again)).toBe(true)
        const applied = yield* Effect.promise(() => admin.query("select v from t where id = 1"))
        expect(applied.rows).toEqual([{ v: "b" }])
      }).pipe(
        Effect.provide(
          PgSinkLive.pipe(
            Layer.provideMerge(DestinationLive),
            Layer.provide(appConfigLayer(pipelineConfig({ destination: url, sources: [] })))
          )
        )
      ),
    30_000
  )
})
