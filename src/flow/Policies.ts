import { Effect, Schedule } from "effect"

/** Every retry policy of walferry, in one place. */

/**
 * `Effect.retry(effect, { schedule, while })` that builds the schedule's driver only after a first failure: the
 * same attempts and delays (that failure is the schedule's first input), and nothing extra on success. For
 * effects run many times a second, such as a table writer's batch, where the driver cost more than the rest
 * of the retry machinery.
 */
export const retryOnFailure = <A, E, R, X>(
  effect: Effect.Effect<A, E, R>,
  options: { readonly schedule: Schedule.Schedule<X, E>; readonly while: (e: E) => boolean }
): Effect.Effect<A, E, R> =>
  Effect.catchIf(effect, options.while, (first) => {
    let replayed = false
    const again = Effect.suspend(() => {
      if (replayed) return effect
      replayed = true
      return Effect.fail(first)
    })
    return Effect.retry(again, options)
  })

/** restart of the pipeline after a transient failure: 0.5 s doubling, capped at 30 s, jittered; reset after 5 min healthy */
export const restartBackoff = Schedule.exponential("500 millis", 2).pipe(
  Schedule.union(Schedule.spaced("30 seconds")),
  Schedule.jittered,
  Schedule.resetAfter("5 minutes")
)

/** a failed destination batch is retried in place a few times before the pipeline restarts */
export const writeRetry = Schedule.exponential("100 millis", 2).pipe(
  Schedule.union(Schedule.spaced("5 seconds")),
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(6))
)

/** connecting to a source or the destination at start */
export const connectRetry = Schedule.exponential("250 millis", 2).pipe(
  Schedule.union(Schedule.spaced("10 seconds")),
  Schedule.jittered,
  Schedule.intersect(Schedule.recurs(5))
)

/** cluster: a slot still held by its previous owner (55006) is tried again quietly, for up to 2 minutes */
export const slotBusyRetry = Schedule.spaced("250 millis").pipe(Schedule.upTo("2 minutes"))

/** cluster: how often a runner tries to take a source's lock that the previous owner still holds */
export const sourceLockPoll = Schedule.spaced("100 millis")

/** cluster: how often the cluster view (runners alive, source owners) is read for status and metrics */
export const clusterViewRefresh = Schedule.spaced("1 second")

/** the periodic sequence copy: every `sequences.sync_interval_ms` */
export const sequenceSyncSchedule = (intervalMs: number) => Schedule.spaced(`${intervalMs} millis`)

/** wildcard keys: a source whose catalog could not be read is read again after this long */
export const WILDCARD_UNREAD_RETRY_MS = 5000

/** a source URL naming several hosts, none primary right now (a promotion under way): looked for every 200 ms, up to 30 s */
export const primaryWait = Schedule.spaced("200 millis").pipe(Schedule.upTo("30 seconds"))
