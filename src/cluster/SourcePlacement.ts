/**
 * Cluster mode: every source URL is a singleton (`walferry/source/<database>/<sid>`) registered on every
 * runner for the run's lifetime; @effect/cluster runs it on the one runner holding its shard. The singleton
 * takes the source's hand-over guard (SourceLock), reloads from the destination the positions other runners
 * wrote for this source, then runs the ordinary source reader (slot, initial copy, stream, acknowledger).
 *
 * A moved source resumes from its slot's confirmed LSN and the reloaded positions skip what is already applied,
 * so the replay stays exactly-once per table. Storage hiccups are retried in place; a source that cannot stop
 * cleanly (changes still in flight) fails the run, as it does in a single process.
 */
import type { SqlError } from "@effect/sql/SqlError"
import { Data, Deferred, Effect, Fiber } from "effect"
import { Acknowledger } from "../ack/Acknowledger.js"
import { AppConfig } from "../config/AppConfig.js"
import type { SourceGroup, SourceUrl } from "../config/Config.js"
import { restartBackoff } from "../flow/Policies.js"
import { EngineStatus } from "../pipeline/EngineStatus.js"
import { runSource, sourceKey, SourceRestartBlocked } from "../source/SourceReader.js"
import { Destination } from "../sink/Destination.js"
import { loadSourcePositions } from "../sink/PositionStore.js"
import { Writers } from "../writers/Writers.js"
import { Cluster } from "./Cluster.js"
import { withSourceLock } from "./SourceLock.js"
import { timed } from "../telemetry/StartupTiming.js"

export class PositionsUnreadable extends Data.TaggedError("PositionsUnreadable")<{
  readonly source: string
  readonly reason: string
}> {
  override get message() {
    return `source ${this.source}: cannot read its destination positions: ${this.reason}`
  }
}

/** the writers' positions of `source` := the destination's (another runner may have advanced them) */
const reloadPositions = (source: string) =>
  Effect.gen(function* () {
    const { pool } = yield* Destination
    const writers = yield* Writers
    const ack = yield* Acknowledger
    const outstanding = (yield* ack.states).find((s) => s.source === source)?.outstanding ?? 0
    if (outstanding > 0) return yield* new SourceRestartBlocked({ source, outstanding })
    const stored = yield* Effect.tryPromise({
      try: () => loadSourcePositions(pool, source),
      catch: (e) => new PositionsUnreadable({ source, reason: e instanceof Error ? e.message : String(e) })
    })
    for (const [target, writer] of writers.byTarget) yield* writer.setPosition(source, stored.get(target))
  })

/** what ends a source's placement on this runner (and so the run) */
export type PlacementFailure =
  Effect.Effect.Error<ReturnType<typeof runSource>> | SourceRestartBlocked | PositionsUnreadable | SqlError

const retryable = (e: PlacementFailure) => e._tag === "SqlError" || e._tag === "PositionsUnreadable"

const sourceSingleton = (group: SourceGroup, url: SourceUrl, failed: Deferred.Deferred<never, PlacementFailure>) =>
  Effect.gen(function* () {
    const cluster = yield* Cluster
    const status = yield* EngineStatus
    const source = sourceKey(group, url)
    // a runner that is leaving never starts a source again
    if (yield* Deferred.isDone(cluster.leaving)) return
    yield* withSourceLock(
      source,
      Effect.gen(function* () {
        yield* Effect.logInfo("source acquired by this runner")
        yield* Effect.addFinalizer(() =>
          Effect.zipRight(
            status.set(source, { state: "elsewhere", error: undefined }),
            Effect.logInfo("source released by this runner")
          )
        )
        yield* reloadPositions(source).pipe(timed("positions reloaded"))
        // the reader's own fiber is stopped, and awaited, when this scope closes, before the lock is released:
        // run in place, its stream (a child fiber of the reader) would be stopped only after the release
        return yield* Fiber.join(yield* Effect.forkScoped(runSource(group, url)))
      })
    ).pipe(
      Effect.tapError((e) =>
        retryable(e) ? Effect.logWarning(`source placement failed, retrying: ${e.message}`) : Effect.void
      ),
      Effect.retry({ schedule: restartBackoff, while: retryable }),
      Effect.catchAll((e) => Deferred.fail(failed, e)),
      Effect.annotateLogs({ source, runner: cluster.runnerId })
    )
  })

/**
 * `walferry/source/<key>`, or with a `#n` suffix when that shard is taken by an earlier source: with as many
 * shards as sources each source gets its own shard, and the engine's shard assignment (balanced per runner)
 * spreads them evenly. The same configuration gives the same names on every runner.
 */
export const singletonName = (source: string, used: Set<number>, shardOf: (name: string) => number): string => {
  const base = `walferry/source/${source}`
  for (let n = 0; n < 1_000; n++) {
    const name = n === 0 ? base : `${base}#${n}`
    const shard = shardOf(name)
    if (!used.has(shard)) {
      used.add(shard)
      return name
    }
  }
  return base
}

/**
 * registers every source's singleton for as long as the caller's scope is open; the effect returned fails when
 * a source escalates (the run must restart)
 */
export const placeSources = Effect.gen(function* () {
  const config = yield* AppConfig
  const cluster = yield* Cluster
  const failed = yield* Deferred.make<never, PlacementFailure>()
  const used = new Set<number>()
  for (const group of config.sources) {
    for (const url of group.urls) {
      const name = singletonName(sourceKey(group, url), used, cluster.shardOf)
      yield* Effect.logDebug(`source ${sourceKey(group, url)}: singleton ${name} on shard ${cluster.shardOf(name)}`)
      yield* cluster.registerSingleton(name, sourceSingleton(group, url, failed))
    }
  }
  return Deferred.await(failed)
})
