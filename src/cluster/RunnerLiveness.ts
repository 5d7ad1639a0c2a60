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
 * - Leaving (SIGTERM, drain-stop): this runner reports itself unhealthy to its own assignment, so it releases its
 *   shards at its next refresh (its sources drain and confirm under their SourceLock meanwhile), and once its
 *   shard locks are gone it deletes its `cluster_runners` row, so the others take the shards at their next
 *   refresh with the locks already free (a failed try would cost them a second).
 */
import * as Runner from "@effect/cluster/Runner"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as RunnerStorage from "@effect/cluster/RunnerStorage"
import * as SqlRunnerStorage from "@effect/cluster/SqlRunnerStorage"
import { SqlClient } from "@effect/sql/SqlClient"
import { Context, Effect, Layer, Option, Schedule } from "effect"
import type { ClusterConfig } from "../config/Config.js"
import { RUNNER_APP_PREFIX, runnerAddressOf } from "./ClusterStorage.js"

export interface RunnerLeaveShape {
  /** starts the hand-over of this runner's sources; returns at once (no-op when no other runner is alive) */
  readonly leave: Effect.Effect<void>
}

export class RunnerLeave extends Context.Tag("walferry/RunnerLeave")<RunnerLeave, RunnerLeaveShape>() {}

/** the application_name of a runner's storage sessions (Postgres keeps 63 bytes) */
export const runnerSessionName = (address: string) => `${RUNNER_APP_PREFIX}${address}`.slice(0, 63)

const addressOf = (r: Runner.Runner) => `${r.address.host}:${r.address.port}`

/** how long a leaving runner waits for its shard locks to go before it deletes its row anyway */
const LEAVE_RELEASE_WAIT = "3 seconds"

const make = (c: ClusterConfig) =>
  Effect.gen(function* () {
    const inner = yield* SqlRunnerStorage.make({})
    const sql = yield* SqlClient
    const scope = yield* Effect.scope
    const self = runnerAddressOf(c)
    const selfSession = runnerSessionName(self)
    let leaving = false
    let selfRunner: Runner.Runner | undefined
    let othersAlive = 0

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
          if (!leaving) out.push([runner, healthy])
          continue
        }
        if (usable && !live.value.has(runnerSessionName(address))) continue
        if (healthy) others++
        out.push([runner, healthy])
      }
      othersAlive = others
      if (leaving && selfRunner !== undefined) out.push([selfRunner, false])
      return out
    })

    const shardLocksHeld = sql
      .unsafe<{ n: number }>(
        `select count(*)::int as n from pg_locks l join pg_stat_activity a on a.pid = l.pid
          where l.locktype = 'advisory' and l.granted and l.objsubid = 1 and a.application_name = $1
            and l.database = (select oid from pg_database where datname = current_database())`,
        [selfSession]
      )
      .pipe(Effect.map((rows) => rows[0]?.n ?? 0))

    const handOver = shardLocksHeld.pipe(
      Effect.repeat({ until: (n) => n === 0, schedule: Schedule.spaced("50 millis") }),
      Effect.timeoutOption(LEAVE_RELEASE_WAIT),
      Effect.ignore,
      Effect.zipRight(inner.unregister(RunnerAddress.make(c.runnerHost, c.runnerPort)).pipe(Effect.ignore)),
      Effect.zipRight(Effect.logInfo("runner left the cluster: its shards are released for the other runners"))
    )

    const leave = Effect.suspend(() => {
      if (leaving || selfRunner === undefined || othersAlive === 0) return Effect.void
      leaving = true
      return Effect.zipRight(
        Effect.logInfo(`runner leaving: handing its sources over to ${othersAlive} other runner(s)`),
        Effect.asVoid(Effect.forkIn(handOver, scope))
      )
    })

    return { storage: RunnerStorage.RunnerStorage.of({ ...inner, getRunners }), leave: RunnerLeave.of({ leave }) }
  })

/** RunnerStorage and RunnerLeave; needs the storage SqlClient and the ShardingConfig */
export const liveRunnerStorageLayer = (c: ClusterConfig) =>
  Layer.scopedContext(
    Effect.map(make(c), ({ leave, storage }) =>
      Context.make(RunnerStorage.RunnerStorage, storage).pipe(Context.add(RunnerLeave, leave))
    )
  )
