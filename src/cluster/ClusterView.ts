/**
 * What every runner knows about the cluster, for `/status`, the dashboard and `/metrics`: the runners whose
 * heartbeat is live and, per source, the runner holding its lock (read from pg_locks, so a killed runner's
 * sources show no owner as soon as Postgres dropped its session). Read once a second in the background;
 * readers get the last snapshot and never wait on the database.
 */
import type { SqlClient } from "@effect/sql/SqlClient"
import { Effect, Ref } from "effect"
import type { ClusterConfig } from "../config/Config.js"
import { clusterViewRefresh } from "../flow/Policies.js"
import { setClusterView } from "../telemetry/Metrics.js"
import { sourceLockKey } from "./SourceLockKey.js"
import { RUNNER_APP_PREFIX, SOURCE_LOCK_NAMESPACE } from "./ClusterStorage.js"

export interface ClusterView {
  readonly runner: string
  readonly runnersAlive: ReadonlyArray<string>
  /** source lock key → runner address */
  readonly owners: ReadonlyMap<number, string>
  /** when the view was read (ms); 0 = never */
  readonly readAt: number
}

export const emptyView = (runner: string): ClusterView => ({ runner, runnersAlive: [], owners: new Map(), readAt: 0 })

const readView = (sql: SqlClient, c: ClusterConfig, runner: string) =>
  Effect.gen(function* () {
    const alive = yield* sql.unsafe<{ address: string }>(
      `select address from cluster_runners
        where last_heartbeat > now() - make_interval(secs => $1) order by address`,
      [Math.ceil(c.shardLockExpirationMs / 1000)]
    )
    const locks = yield* sql.unsafe<{ key: number; app: string }>(
      `select l.objid::int8 as key, a.application_name as app
         from pg_locks l join pg_stat_activity a on a.pid = l.pid
        where l.locktype = 'advisory' and l.granted and l.objsubid = 2 and l.classid = $1
          and l.database = (select oid from pg_database where datname = current_database())`,
      [SOURCE_LOCK_NAMESPACE]
    )
    const owners = new Map<number, string>()
    for (const l of locks) {
      if (l.app.startsWith(RUNNER_APP_PREFIX)) owners.set(Number(l.key), l.app.slice(RUNNER_APP_PREFIX.length))
    }
    return { runner, runnersAlive: alive.map((r) => r.address), owners, readAt: Date.now() } satisfies ClusterView
  })

export interface SourceId {
  readonly database: string
  readonly sid: string
  /** `<database>/<sid>` */
  readonly source: string
}

/** the runner owning `source` in `view`, undefined when none does (moving, or never read) */
export const ownerOf = (view: ClusterView, source: string): string | undefined => view.owners.get(sourceLockKey(source))

/** the view, refreshed in the background for as long as the scope is open; also sets the cluster gauges */
export const makeClusterView = (sql: SqlClient, c: ClusterConfig, runner: string, sources: ReadonlyArray<SourceId>) =>
  Effect.gen(function* () {
    const ref = yield* Ref.make(emptyView(runner))
    yield* readView(sql, c, runner).pipe(
      Effect.tap((v) =>
        setClusterView(
          v.runnersAlive.length,
          sources.map((s) => ({ ...s, runner: ownerOf(v, s.source) }))
        )
      ),
      Effect.flatMap((v) => Ref.set(ref, v)),
      Effect.catchAll((e) => Effect.logDebug(`cluster view not read: ${e.message}`)),
      Effect.repeat(clusterViewRefresh),
      Effect.forkScoped
    )
    return Ref.get(ref)
  })
