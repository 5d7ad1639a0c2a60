/**
 * The registry of table writers: one actor per destination table, shared by every source that maps
 * into it. Built from the configuration; each writer's loop is forked in the layer's scope, and the
 * first writer that fails fails `failure`, which the supervisor watches.
 */
import { Context, Deferred, Effect, Layer } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { SourceGroup, SourceUrl, TableMapping } from "../config/Config.js"
import type { SpecSource, TargetSpec } from "../sink/Sink.js"
import { makeTableWriter, type TableWriter, type WriterStatus } from "./TableWriter.js"
import type { WriteFailed } from "./WriteFailed.js"

export interface WritersShape {
  readonly byTarget: ReadonlyMap<string, TableWriter>
  /** fails with the first writer failure (never succeeds) */
  readonly failure: Effect.Effect<never, WriteFailed>
  /** a writer has failed (the run is over) */
  readonly hasFailed: Effect.Effect<boolean>
  /** every mailbox empty and no batch in flight */
  readonly drained: Effect.Effect<void>
  readonly statuses: Effect.Effect<ReadonlyArray<WriterStatus>>
}

export class Writers extends Context.Tag("walferry/Writers")<Writers, WritersShape>() {}

const rank = (present: ReadonlyArray<string>, u: SourceUrl) => (present.includes(u.sid) ? 0 : 1)

export const targetSpecs = (groups: ReadonlyArray<SourceGroup>): ReadonlyArray<TargetSpec> => {
  const seen = new Map<string, { target: string; mapping: TableMapping; sources: Array<SpecSource> }>()
  for (const g of groups) {
    for (const m of g.tables) {
      const spec = seen.get(m.target) ?? { target: m.target, mapping: m, sources: [] }
      seen.set(m.target, spec)
      // a wildcard match: the sources that have the table first (its definition is read from the first)
      const present = m.wildcard?.present
      const urls = present === undefined ? g.urls : [...g.urls].sort((a, b) => rank(present, a) - rank(present, b))
      for (const u of urls) {
        const source = `${g.database}/${u.sid}`
        if (!spec.sources.some((s) => s.source === source)) spec.sources.push({ source, url: u.url })
      }
    }
  }
  return [...seen.values()]
}

export const makeWriters = Effect.gen(function* () {
  const config = yield* AppConfig
  const failed = yield* Deferred.make<never, WriteFailed>()
  const specs = targetSpecs(config.sources)
  const options = {
    capacity: config.tuning.mailboxCapacity,
    batch: {
      max: config.tuning.batchSize,
      lingerMs: config.tuning.commitIntervalMs,
      minRows: config.tuning.batchMinRows,
      minLingerMs: config.tuning.batchLingerMs
    }
  }
  const writers = yield* Effect.forEach(specs, (spec) => makeTableWriter(spec, options), { concurrency: 8 })
  for (const w of writers) {
    yield* w.run.pipe(
      Effect.catchAll((e) => Deferred.fail(failed, e)),
      Effect.forkScoped
    )
  }
  return {
    byTarget: new Map(writers.map((w) => [w.target, w])),
    failure: Deferred.await(failed),
    hasFailed: Deferred.isDone(failed),
    drained: Effect.forEach(writers, (w) => w.drained, { discard: true, concurrency: "unbounded" }),
    statuses: Effect.forEach(writers, (w) => w.status)
  } satisfies WritersShape
})

export const WritersLive = Layer.scoped(Writers, makeWriters)
