/**
 * The engine: every source reader, the table writers, the acknowledger and the destination pool.
 *
 * Supervision: a source's own failures restart only that source (SourceReader). A writer whose
 * transient failure outlives its retries, or a source that cannot restart cleanly, ends the run: all
 * actors stop and the whole pipeline starts again with capped exponential backoff and jitter,
 * replaying every source from its slot's confirmed position (positions skip what is already applied).
 * Permanent table errors never end the run: the table stops, everything else flows.
 * Cluster mode (a Cluster service is provided): the run registers one singleton per source instead of running
 * every reader; the cluster runs each on exactly one runner (SourcePlacement).
 * Shutdown (interrupt): readers stop reading, writers drain, final positions are confirmed, pools close.
 */
import { Effect, Fiber, Layer, Option, Ref, Stream, SubscriptionRef } from "effect"
import { Acknowledger, AcknowledgerLive } from "../ack/Acknowledger.js"
import { Cluster } from "../cluster/Cluster.js"
import { placeSources } from "../cluster/SourcePlacement.js"
import { AppConfig } from "../config/AppConfig.js"
import { restartBackoff } from "../flow/Policies.js"
import { runSource } from "../source/SourceReader.js"
import { redactSecrets } from "../telemetry/Logging.js"
import { countRestart } from "../telemetry/Metrics.js"
import { DestinationLive } from "../sink/Destination.js"
import { PgSinkLive } from "../sink/PgSink.js"
import { Writers, WritersLive } from "../writers/Writers.js"
import { CurrentRun } from "./CurrentRun.js"
import { EngineStatus } from "./EngineStatus.js"
import { LiveMapping } from "./LiveMapping.js"
import { expandForRun, watchWildcards } from "./WildcardWatch.js"

/** the actors of one run, built fresh on every restart */
export const RunLive = WritersLive.pipe(
  Layer.provideMerge(AcknowledgerLive),
  Layer.provideMerge(PgSinkLive),
  Layer.provideMerge(DestinationLive)
)

export const runOnce = Effect.gen(function* () {
  const config = yield* AppConfig
  const writers = yield* Writers
  const current = yield* CurrentRun
  yield* Ref.set(current, Option.some({ writers, ack: yield* Acknowledger }))
  yield* Effect.addFinalizer(() => Ref.set(current, Option.none()))
  const cluster = yield* Effect.serviceOption(Cluster)
  if (Option.isSome(cluster)) {
    const count = config.sources.reduce((n, g) => n + g.urls.length, 0)
    yield* Effect.logInfo(
      `pipeline started on runner ${cluster.value.runnerId}: ${count} source(s) placed by the cluster, ${writers.byTarget.size} table(s)`
    )
    const escalated = yield* placeSources.pipe(Effect.provideService(Cluster, cluster.value))
    return yield* Effect.raceFirst(escalated, writers.failure)
  }
  const readers = config.sources.flatMap((group) => group.urls.map((url) => runSource(group, url)))
  yield* Effect.logInfo(`pipeline started: ${readers.length} source(s), ${writers.byTarget.size} table(s)`)
  // with no source (an empty mapping in the database), the run idles until the mapping changes
  const reading = yield* Effect.fork(
    readers.length === 0 ? Effect.never : Effect.all(readers, { concurrency: "unbounded", discard: true })
  )
  // runs before the writers' layer closes: readers finish their transaction, drain and confirm first
  yield* Effect.addFinalizer(() => Fiber.interrupt(reading))
  return yield* Effect.raceFirst(Fiber.join(reading), writers.failure)
})

/** one run with the wildcard keys expanded; with a LiveMapping, a different expansion ends it (WildcardWatch) */
const runExpanded = Effect.gen(function* () {
  const { config, unread } = yield* expandForRun(yield* AppConfig)
  const live = yield* Effect.serviceOption(LiveMapping)
  const run = Effect.scoped(Layer.build(RunLive).pipe(Effect.flatMap((ctx) => Effect.provide(runOnce, ctx)))).pipe(
    Effect.provideService(AppConfig, config)
  )
  if (Option.isNone(live)) return yield* run
  return yield* Effect.raceFirst(
    run,
    watchWildcards(config, unread).pipe(Effect.provideService(LiveMapping, live.value))
  )
})

const runRetrying = Effect.gen(function* () {
  const status = yield* EngineStatus
  let restarts = 0
  return yield* runExpanded.pipe(
    Effect.tapError((e) =>
      Effect.gen(function* () {
        restarts++
        countRestart("pipeline", e._tag)
        yield* Effect.annotateCurrentSpan("restarts", restarts)
        yield* Effect.logError(`pipeline failed, restarting (restart ${restarts}): ${e.message}`)
        for (const s of yield* status.sources) yield* status.set(s.source, { state: "retrying", error: e.message })
      }).pipe(Effect.withSpan("Pipeline.restart", { attributes: { error: e._tag, reason: redactSecrets(e.message) } }))
    ),
    Effect.retry(restartBackoff)
  )
})

/**
 * the engine: with a LiveMapping, one run per generation — a new generation (mapping changed, or restart
 * asked) interrupts the run (graceful: drain and confirm) and starts the next with the new mapping
 */
export const runEngine = Effect.gen(function* () {
  const live = yield* Effect.serviceOption(LiveMapping)
  if (Option.isNone(live)) return yield* runRetrying
  while (true) {
    const current = yield* SubscriptionRef.get(live.value)
    const next = live.value.changes.pipe(
      Stream.filter((g) => g.generation !== current.generation),
      Stream.take(1),
      Stream.runDrain
    )
    yield* Effect.raceFirst(runRetrying.pipe(Effect.provideService(AppConfig, current.config)), next)
    yield* Effect.logInfo("mapping changed or restart requested: the pipeline restarts with the mapping now in effect")
  }
})
