import { Schedule } from "effect"

/** Every retry policy of walferry, in one place. */

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

/** the periodic sequence copy: every `sequences.sync_interval_ms` */
export const sequenceSyncSchedule = (intervalMs: number) => Schedule.spaced(`${intervalMs} millis`)
