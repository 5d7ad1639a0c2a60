/**
 * Cluster mode (`cluster.enabled`): this process is one runner of @effect/cluster. The engine's shard locks
 * (Postgres advisory locks held by each runner on the cluster storage) decide which runner runs which source:
 * every runner registers one singleton per source URL, and a singleton runs only on the runner holding its
 * shard. Runners find each other through `cluster_runners` (heartbeats); a runner whose heartbeat is older
 * than `shard_lock_expiration_ms`, or that has no session left on the storage (RunnerLiveness), is left out of
 * the assignment and its shards move. By default there are as
 * many shards as source URLs and every source singleton gets a shard of its own (SourcePlacement picks the
 * names), so the engine's balanced shard assignment spreads the sources evenly (±1) over the live runners. Nothing here is a lock
 * of walferry's own except the per-source hand-over guard in SourceLock.
 *
 * Without `cluster.enabled` nothing of this is built: no runner server, no cluster tables.
 */
import * as EntityId from "@effect/cluster/EntityId"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import { SqlClient } from "@effect/sql/SqlClient"
import { Context, type Deferred, Effect, Layer, Option, Ref, type Scope } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { ClusterConfig } from "../config/Config.js"
import { clusterStorageLayer, runnerAddressOf } from "./ClusterStorage.js"
import { makeClusterView, type ClusterView } from "./ClusterView.js"
import { liveRunnerStorageLayer, RunnerLeave } from "./RunnerLiveness.js"

export interface ClusterShape {
  /** this runner's address, `host:port`: its id in the cluster, in logs, `/status` and `/metrics` */
  readonly runnerId: string
  readonly config: ClusterConfig
  readonly sql: SqlClient
  /** runs `run` on whichever runner holds its shard, for as long as the scope is open */
  readonly registerSingleton: <E, R>(
    name: string,
    run: Effect.Effect<void, E, R>
  ) => Effect.Effect<void, never, R | Scope.Scope>
  /** the shard (1…shards) a singleton of this name lands on */
  readonly shardOf: (name: string) => number
  /** sources whose pipeline runs here now */
  readonly owned: Ref.Ref<ReadonlySet<string>>
  /** runners alive and who owns each source, refreshed every second */
  readonly view: Effect.Effect<ClusterView>
  /** hands this runner's sources over to the other runners at once (shutdown); returns without waiting */
  readonly leave: Effect.Effect<void>
  /** completes when this runner leaves: no source starts on it again */
  readonly leaving: Deferred.Deferred<void>
}

export class Cluster extends Context.Tag("walferry/Cluster")<Cluster, ClusterShape>() {}

/** walferry's engine timings, passed explicitly so no HOST/PORT/... environment variable is read by the engine */
export const shardingConfigOf = (c: ClusterConfig, shards: number): ShardingConfig.ShardingConfig["Type"] => ({
  ...ShardingConfig.defaults,
  runnerAddress: Option.some(RunnerAddress.make(c.runnerHost, c.runnerPort)),
  runnerListenAddress: Option.some(RunnerAddress.make(c.listenHost, c.listenPort)),
  shardsPerGroup: shards,
  shardLockRefreshInterval: `${c.shardLockRefreshMs} millis`,
  shardLockExpiration: `${c.shardLockExpirationMs} millis`,
  refreshAssignmentsInterval: `${c.assignmentRefreshMs} millis`,
  runnerHealthCheckInterval: `${c.healthCheckMs} millis`,
  entityMessagePollInterval: "500 millis"
})

const makeCluster = (c: ClusterConfig) =>
  Effect.gen(function* () {
    const sharding = yield* Sharding.Sharding
    const sql = yield* SqlClient
    const runnerId = runnerAddressOf(c)
    const owned = yield* Ref.make<ReadonlySet<string>>(new Set())
    const config = yield* AppConfig
    const sources = config.sources.flatMap((g) =>
      g.urls.map((u) => ({ database: g.database, sid: u.sid, source: `${g.database}/${u.sid}` }))
    )
    const view = yield* makeClusterView(sql, c, runnerId, sources)
    const runnerLeave = yield* RunnerLeave
    const leaving = runnerLeave.leaving
    const leave = Effect.asVoid(runnerLeave.leave)
    return {
      runnerId,
      config: c,
      sql,
      registerSingleton: (name, run) => sharding.registerSingleton(name, run),
      shardOf: (name) => sharding.getShardId(EntityId.make(name), "default").id,
      owned,
      view,
      leave,
      leaving
    } satisfies ClusterShape
  })

/** the runner: socket server, SQL runner/message storage, sharding, and the Cluster service on top */
export const clusterLayer = (c: ClusterConfig, sourceCount: number) => {
  const shards = c.shards ?? Math.max(1, sourceCount)
  const shardingConfig = shardingConfigOf(c, shards)
  // the engine's SQL storages; the runner storage also notices dead runners by their sessions (RunnerLiveness)
  const storages = Layer.merge(liveRunnerStorageLayer(c), Layer.orDie(SqlMessageStorage.layer)).pipe(
    Layer.provide(ShardingConfig.layer(shardingConfig))
  )
  const runner = NodeClusterSocket.layer({ storage: "byo", shardingConfig }).pipe(Layer.provideMerge(storages))
  return Layer.scoped(Cluster, makeCluster(c)).pipe(Layer.provide(runner), Layer.provideMerge(clusterStorageLayer(c)))
}

export { emptyView, ownerOf, type ClusterView } from "./ClusterView.js"
