/**
 * The command's last resort on SIGTERM/SIGINT: a graceful stop (drain, commit, confirm, close) is bounded by
 * `tuning.shutdown_timeout_ms` step by step, but something can still wait forever (a connection that never
 * answers while a resource is opened, a driver call that never returns). Twice the timeout plus 15 s after the
 * first signal the process exits with code 1 and says so. Nothing is lost by it: a slot only ever confirms
 * what the destination committed, so the next start replays the rest and the stored positions skip what is
 * already applied. The timer does not keep the process alive. Only the `walferry` command arms it: a library
 * user's process is never exited.
 */
import { Effect } from "effect"

/** how long after the first SIGTERM/SIGINT the process may take before it is ended */
export const stopDeadlineMs = (shutdownTimeoutMs: number): number => 2 * shutdownTimeoutMs + 15_000

export const armStopDeadline = (shutdownTimeoutMs: number) =>
  Effect.sync(() => {
    const ms = stopDeadlineMs(shutdownTimeoutMs)
    let armed = false
    const arm = (signal: NodeJS.Signals) => {
      if (armed) return
      armed = true
      setTimeout(() => {
        process.stderr.write(
          `timestamp=${new Date().toISOString()} level=ERROR message="stop after ${signal} did not finish within ${ms / 1000} s ` +
            `(twice tuning.shutdown_timeout_ms + 15 s): exiting with code 1; nothing is lost, the next start replays ` +
            `from each slot's confirmed position"\n`,
          () => process.exit(1)
        )
      }, ms).unref()
    }
    process.once("SIGTERM", arm)
    process.once("SIGINT", arm)
  })
