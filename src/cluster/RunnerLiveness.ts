/**
 * The engine's SQL runner storage (SqlRunnerStorage: heartbeats, shard advisory locks) with two additions that
 * shorten a hand-over; the shard locks and the assignment stay the engine's.
 *
 * - A dead process is noticed by its sessions, not only by its heartbeat: a runner listed in `cluster_runners`
 *   that has no session on the storage database (application_name `walferry runner <address>`, ClusterStorage)
 *   is left out of the assignment. Postgres ends a killed process's sessions, and with them its shard locks,
 *   within milliseconds, so its sources move at the next assignment refresh instead of after
 *   `shard_lock_expiration_ms`. Used only while this runner sees its own session under that name (no pooler
 *   renaming sessions); otherwise the heartbeat alone decides, as in the engine. The filter can only leave a
 *   runner out, never keep one whose heartbeat expired.
 * - Leaving (SIGTERM, drain-stop): `leaving` completes (no source starts here again), the runner frees its shard
 *   locks at once (the engine's `releaseAll`), deletes its `cluster_runners` row and reports itself unhealthy
 *   to its own assignment, so it never takes a shard again. Its sources drain and confirm as the engine stops,
 *   each under its SourceLock; the others take the shards at their next assignment refresh, with the locks
 *   already free (a failed try would cost them a second), and start each source as soon as its SourceLock is
 *   released.
 */
import * as Runner from "@effect/cluster/Runner"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import { SqlClient } from "@effect/sql/SqlClient"
import { Context, Deferred, Effect, Layer, Option } from "effect"
import type { ClusterConfig } from "../config/Config.js"
import { RUNNER_APP_PREFIX, runnerAddressOf } from "./ClusterStorage.js"

export interface RunnerLeaveShape {
  /** starts the hand-over of this runner's sources and returns at once: false when no other runner is alive */
  readonly leave: Effect.Effect<boolean>
  /** completes when this runner leaves: no source starts on it again */
  readonly leaving: Deferred.Deferred<void>
}

export class RunnerLeave extends Context.Tag("walferry/RunnerLeave")<RunnerLeave, RunnerLeaveShape>() {}

/** the application_name of a runner's storage sessions (Postgres keeps 63 bytes) */
export const runnerSessionName = (address: string) => `${RUNNER_APP_PREFIX}${address}`.slice(0, 63)

const addressOf = (r: Runner.Runner) => `${r.address.host}:${r.address.port}`

const make = (c: ClusterConfig) =>
  Effect.gen(function* () {
    const inner = yield* SqlRunnerStorage.make({})
    const sql = yield* SqlClient
    const scope = yield* Effect.scope
    const self = runnerAddressOf(c)
    const selfSession = runnerSessionName(self)
    let left = false
    let selfRunner: Runner.Runner | undefined
    let othersAlive = 0
    const leaving = yield* Deferred.make<void>()

    const sessions = sql
      .unsafe<{ app: string }>(
        `select distinct application_name as app from pg_stat_activity
          where datname = current_database() and starts_with(application_name, $1)`,
        [RUNNER_APP_PREFIX]
      )
      .pipe(
        Effect.map((rows) => new Set(rows.map((r) => r.app))),
        Effect.option
      )

    const getRunners = Effect.gen(function* () {
      const runners = yield* inner.getRunners
      const live = yield* sessions
      const usable = Option.isSome(live) && live.value.has(selfSession)
      const out: Array<[Runner.Runner, boolean]> = []
      let others = 0
      for (const [runner, healthy] of runners) {
        const address = addressOf(runner)
        if (address === self) {
          selfRunner = runner
          if (!left) out.push([runner, healthy])
          continue
        }
        if (usable && !live.value.has(runnerSessionName(address))) continue
        if (healthy) others++
        out.push([runner, healthy])
      }
      othersAlive = others
      if (left && selfRunner !== undefined) out.push([selfRunner, false])
      return out
    })

    const address = RunnerAddress.make(c.runnerHost, c.runnerPort)
    const handOver = Effect.all([inner.releaseAll(address), inner.unregister(address)], { mode: "either" }).pipe(
      Effect.zipRight(Effect.logInfo("runner left the cluster: its shards are free for the other runners"))
    )

    const leave = Effect.suspend(() => {
      if (left) return Effect.succeed(true)
      if (selfRunner === undefined || othersAlive === 0) return Effect.succeed(false)
      left = true
      return Effect.logInfo(`runner leaving: handing its sources over to ${othersAlive} other runner(s)`).pipe(
        Effect.zipRight(Deferred.succeed(leaving, undefined)),
        Effect.zipRight(Effect.forkIn(handOver, scope)),
        Effect.as(true)
      )
    })

    return {
      storage: RunnerStorage.RunnerStorage.of({ ...inner, getRunners }),
      leave: RunnerLeave.of({ leave, leaving })
    }
  })

/** RunnerStorage and RunnerLeave; needs the storage SqlClient and the ShardingConfig */
export const liveRunnerStorageLayer = (c: ClusterConfig) =>
  Layer.scopedContext(
    Effect.map(make(c), ({ leave, storage }) =>
      Context.make(RunnerStorage.RunnerStorage, storage).pipe(Context.add(RunnerLeave, leave))
    )
  )
