/**
 * The cluster runner behind the Cluster service: socket server, SQL runner and message storage, sharding
 * (see Cluster.ts). Its own module so that a process without `cluster.enabled` never loads @effect/cluster.
 */
import * as EntityId from "@effect/cluster/EntityId"
import * as RunnerAddress from "@effect/cluster/RunnerAddress"
import * as Sharding from "@effect/cluster/Sharding"
import * as ShardingConfig from "@effect/cluster/ShardingConfig"
import * as SqlMessageStorage from "@effect/cluster/SqlMessageStorage"
import * as NodeClusterSocket from "@effect/platform-node/NodeClusterSocket"
import { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Layer, Option, Ref } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import type { ClusterConfig } from "../config/Config.js"
import { Cluster, type ClusterShape } from "./Cluster.js"
import { clusterStorageLayer, runnerAddressOf } from "./ClusterStorage.js"
import { makeClusterView } from "./ClusterView.js"
import { liveRunnerStorageLayer, RunnerLeave } from "./RunnerLiveness.js"

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
  return Layer.scoped(Cluster, makeCluster(c)).pipe(
    Layer.provide(runner),
    Layer.provideMerge(clusterStorageLayer(c, sourceCount))
  )
}
