/**
 * The hand-over guard of one source: a session advisory lock on the cluster storage, held by the runner
 * running the source from before its slot is opened until after its last batch committed and its final LSN
 * was confirmed. @effect/cluster releases a shard while the old owner may still be stopping its singleton;
 * this guard makes the new owner wait, so two runners never apply one source's changes at once and the new
 * owner reads the destination positions only after the old one wrote its last.
 *
 * The two-int form `pg_try_advisory_lock(namespace, key)` cannot collide with the engine's shard locks
 * (single bigint keys 1000001–…). The lock session's application_name names the runner (ClusterStorage),
 * which is how every runner sees who owns which source.
 */
import { Effect, Ref } from "effect"
import { sourceLockPoll } from "../flow/Policies.js"
import { Cluster } from "./Cluster.js"
import { SOURCE_LOCK_NAMESPACE } from "./ClusterStorage.js"
import { sourceLockKey } from "./SourceLockKey.js"
import { timed } from "../telemetry/StartupTiming.js"

/** runs `body` holding `source`'s lock, waiting quietly while another runner still holds it */
export const withSourceLock = <A, E, R>(source: string, body: Effect.Effect<A, E, R>) =>
  Effect.gen(function* () {
    const cluster = yield* Cluster
    const conn = yield* cluster.sql.reserve
    const key = sourceLockKey(source)
    yield* Effect.addFinalizer(() =>
      Effect.zipRight(
        Ref.update(cluster.owned, (s) => new Set([...s].filter((x) => x !== source))),
        conn.executeRaw("select pg_advisory_unlock($1, $2)", [SOURCE_LOCK_NAMESPACE, key]).pipe(Effect.ignore)
      )
    )
    yield* conn.executeValues("select pg_try_advisory_lock($1, $2)", [SOURCE_LOCK_NAMESPACE, key]).pipe(
      Effect.map((rows) => rows[0]?.[0] === true),
      Effect.repeat({ until: (got) => got, schedule: sourceLockPoll }),
      timed("source lock taken")
    )
    yield* Ref.update(cluster.owned, (s) => new Set([...s, source]))
    // the body's own scope closes (drain, final confirmation) before the lock is released
    return yield* Effect.scoped(body)
  }).pipe(Effect.scoped)
