/**
 * The writers' linger clock: one process-wide clock ticking every `ms` (the linger) from the process's time
 * origin. Waits that end on the same tick share one timer, so the writers they belong to wake in one timer
 * callback, i.e. in one turn of the event loop: one wake-up of the process instead of one each, and their
 * small batches then go out in one destination round (sink/SharedRound). Separate timers, even for the same
 * instant, round to whole milliseconds from when each was set and may fire in different turns.
 */

/** the first tick at or after `t` (performance.now() time) of a clock ticking every `ms` */
export const tickAfter = (t: number, ms: number): number => Math.ceil(t / ms) * ms

const due = new Map<number, Array<() => void>>()

/** calls `f` at the tick `at` (a value of tickAfter), together with everything else due then */
export const atTick = (at: number, f: () => void): void => {
  let waiting = due.get(at)
  if (waiting === undefined) {
    const list: Array<() => void> = []
    waiting = list
    due.set(at, list)
    setTimeout(
      () => {
        due.delete(at)
        for (const g of list) g()
      },
      Math.max(0, at - performance.now())
    )
  }
  waiting.push(f)
}
