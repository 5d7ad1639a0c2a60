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
 * Without `cluster.enabled` nothing of this is built or loaded: no runner server, no cluster tables, and the
 * runner's modules (ClusterRunner: @effect/cluster, its socket server and serializers) are imported only then.
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import { Context, type Deferred, type Effect, type Ref, type Scope } from "effect"
import type { ClusterConfig } from "../config/Config.js"
import type { ClusterView } from "./ClusterView.js"

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

export { emptyView, ownerOf, type ClusterView } from "./ClusterView.js"
