/**
 * `walferry check` with `cluster.enabled`: the cluster storage database answers, the role can create (or use)
 * the storage schema, and session advisory locks (the engine's shard locks) work. Also reports the runners
 * registered there with a live heartbeat. Never fails: problems become findings.
 */
import { Effect, Redacted } from "effect"
import type { ClusterConfig } from "../config/Config.js"
import { qualified, query } from "../lib/Sql.js"
import { connect, maskUrl, scrub } from "./CheckConnect.js"
import { error, findingsOf, info, type Finding, type Issue } from "./CheckReport.js"

const FACTS_SQL = `
  select exists (select 1 from pg_namespace where nspname = $1) as "schemaExists",
    case when exists (select 1 from pg_namespace where nspname = $1) then has_schema_privilege($1, 'CREATE')
      else has_database_privilege(current_database(), 'CREATE') end as "canCreate",
    pg_try_advisory_lock(1464223334, 0) as "lockOk",
    to_regclass(quote_ident($1) || '.cluster_runners') is not null as "hasRunners"`

export const inspectCluster = (c: ClusterConfig): Effect.Effect<Array<Finding>> => {
  const raw = Redacted.value(c.storageUrl)
  const subject = { side: "destination" as const, database: undefined, sid: undefined, url: maskUrl(raw) }
  return Effect.gen(function* () {
    const client = yield* connect(c.storageUrl)
    const [f] = yield* query<{ schemaExists: boolean; canCreate: boolean; lockOk: boolean; hasRunners: boolean }>(
      client,
      FACTS_SQL,
      [c.storageSchema]
    )
    const issues: Array<Issue> = []
    if (f === undefined) return findingsOf(subject, undefined, [error("cluster storage: cannot read its settings")])
    if (!f.canCreate) {
      issues.push(
        error(
          f.schemaExists
            ? `cluster storage: no CREATE on schema "${c.storageSchema}" (the cluster tables are created there)`
            : `cluster storage: no CREATE on the database, so schema "${c.storageSchema}" cannot be created`
        )
      )
    }
    if (!f.lockOk) issues.push(error("cluster storage: session advisory locks are not available"))
    if (f.hasRunners) {
      const rows = yield* query<{ address: string }>(
        client,
        `select address from ${qualified(c.storageSchema, "cluster_runners")}
          where last_heartbeat > now() - make_interval(secs => $1) order by 1`,
        [Math.ceil(c.shardLockExpirationMs / 1000)]
      )
      issues.push(info(`cluster storage ok; runners alive: ${rows.map((r) => r.address).join(", ") || "none"}`))
    } else issues.push(info(`cluster storage ok (schema "${c.storageSchema}"; no runner has started yet)`))
    return findingsOf(subject, undefined, issues)
  }).pipe(
    Effect.scoped,
    Effect.catchTags({
      ConnectFailed: (e) => Effect.succeed(findingsOf(subject, undefined, [error(`cluster storage: ${e.message}`)])),
      QueryFailed: (e) =>
        Effect.succeed(findingsOf(subject, undefined, [error(`cluster storage: ${scrub(e.message, raw)}`)]))
    })
  )
}
