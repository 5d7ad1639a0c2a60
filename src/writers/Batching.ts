import { Effect } from "effect"
import type { Queued } from "../domain/Change.js"
import type { Lsn } from "../domain/Lsn.js"
import type { Position } from "../sink/Sink.js"
import type { Mailbox } from "./Mailbox.js"
import { tickAfter } from "./TickClock.js"

export interface BatchPolicy {
  /** changes per batch, at most */
  readonly max: number
  /** after the first change, wait this long for `max` (0: no fixed wait) */
  readonly lingerMs: number
  /** without `lingerMs`, a batch of `minRows / 32` to `minRows - 1` changes waits up to `minLingerMs` for `minRows` */
  readonly minRows: number
  readonly minLingerMs: number
}

/**
 * a writer's pace: when it last finished collecting a batch (performance.now(); -Infinity before its first),
 * and whether its stream runs wide (see collectBatch)
 */
export interface Pace {
  last: number
  wide: boolean
}

export const newPace = (): Pace => ({ last: Number.NEGATIVE_INFINITY, wide: false })

/** a wide stream's batch waits for this many times `minRows`, until a tick at least this many `minLingerMs` away */
export const WIDE_ROWS = 4
export const WIDE_LINGERS = 2.5

/**
 * Takes up to `max` changes: waits for the first, then, if the batch is short of its target, waits for the
 * target or the deadline, whichever comes first, and takes what has arrived (at most `max`). With `lingerMs`
 * the target is `max`. Without it, a batch of `minRows / 32` to `minRows - 1` changes waits for `minRows` until
 * the first tick of a process-wide `minLingerMs` clock at least half of `minLingerMs` away (so half to one and a
 * half `minLingerMs`, one on average; see tickAfter): such a batch is what a writer finds when dozens of changes arrive during one
 * commit, i.e. when CPU per change matters, and fewer, larger batches cost less of it on both sides for a
 * few milliseconds of latency. A smaller batch is taken at once when the writer's previous batch was
 * collected `minLingerMs` ago or more (a sparse stream: its latency is unchanged); sooner, it waits for
 * `minRows` until the first tick at least half of `minLingerMs` after that batch, so a steady stream of a few
 * changes per commit makes one batch per `minLingerMs` on average and never two within half of it (each batch
 * costs a destination transaction and its round trip, whatever its size). A
 * backlog (batches already large) is taken at once. A stream runs wide once changes arrive during such a wait
 * at `minRows / 4` or more per `minLingerMs` (64 per 10 ms by default: a table saturating the machine, where
 * what each batch costs the runtime and the destination is what the source loses); its waits are then for
 * `WIDE_ROWS * minRows` until a tick at least `WIDE_LINGERS * minLingerMs` away, so it makes a few large
 * batches instead of many middling ones. It runs narrow again when a wide wait sees under half that rate, or
 * when a writer wakes to a few changes. The rate counts only what arrives during a wait, never what a writer
 * finds on waking, so a stall of a slower stream (which finds many) does not make it wide and lengthen its lag.
 * The changes stay in the mailbox while the batch waits:
 * they count as queued (the writer's `drained`), and an interrupted wait leaves them there.
 */
export const collectBatch = <A>(
  mailbox: Mailbox<A>,
  policy: BatchPolicy,
  pace: Pace = newPace()
): Effect.Effect<ReadonlyArray<A>> =>
  // one effect with callback steps rather than a generator of waits: a writer collects hundreds of batches a second
  Effect.async<ReadonlyArray<A>>((resume) => {
    const { max } = policy
    const minRows = Math.min(policy.minRows, max)
    /** a busy wait: when it started (-1: not one), and what was found then */
    let busySince = -1
    let found = 0
    const take = () => {
      const now = performance.now()
      pace.last = now
      if (busySince >= 0) {
        // changes per minLingerMs that make a stream wide, or keep it so: minRows / 4, minRows / 8
        const rate = pace.wide ? minRows >> 3 : minRows >> 2
        const arrived = mailbox.size - found
        pace.wide = arrived > 0 && arrived * policy.minLingerMs >= rate * (now - busySince)
      }
      resume(Effect.sync(() => takeBatch(mailbox, max)))
    }
    const first = () => {
      found = mailbox.size
      const now = performance.now()
      const linger = policy.minLingerMs
      let target = 0
      let wait = 0
      let tick: number | undefined
      if (policy.lingerMs > 0) {
        target = max
        wait = policy.lingerMs
      } else if (found >= Math.max(2, minRows >> 5)) {
        const wide = pace.wide
        target = wide ? Math.min(max, minRows * WIDE_ROWS) : minRows
        tick = tickAfter(now + (wide ? linger * WIDE_LINGERS : linger / 2), linger)
        wait = tick - now
        if (found < target && wait > 0) busySince = now
      } else {
        pace.wide = false // woken by a few changes: not saturated
        if (now - pace.last < linger) {
          target = minRows
          tick = tickAfter(pace.last + linger / 2, linger)
          wait = tick - now
        }
      }
      if (found < target && wait > 0) mailbox.whenSize(target, wait, take, tick)
      else take()
    }
    mailbox.whenSize(1, undefined, first)
    // no canceler (one costs an uninterruptible region per batch): an interrupted collect resumes nothing, so it
    // takes nothing, and the mailbox's next waiter replaces the one it left (see Mailbox.whenSize)
  })

/** what a collected batch takes: up to `max`, with what a full mailbox's waiting offerers put in as the take made room */
const takeBatch = <A>(mailbox: Mailbox<A>, max: number): ReadonlyArray<A> => {
  const batch = mailbox.takeNow(max)
  return batch.length < max && mailbox.size > 0 ? batch.concat(mailbox.takeNow(max - batch.length)) : batch
}

/** releases a batch to the acknowledger in runs of consecutive changes of one source transaction */
export const releaseRuns = (
  batch: ReadonlyArray<Queued>,
  release: (source: string, lsn: Lsn, n: number) => void
): void => {
  let i = 0
  while (i < batch.length) {
    const c = batch[i]!
    let j = i + 1
    while (j < batch.length && batch[j]!.lsn === c.lsn && batch[j]!.source === c.source) j++
    release(c.source, c.lsn, j - i)
    i = j
  }
}

/** index of the first captured DDL in [from, end), or `end` */
export const ddlIndex = (changes: ReadonlyArray<Queued>, from: number, end: number): number => {
  for (let i = from; i < end; i++) if (changes[i]!._tag === "Ddl") return i
  return end
}

/** sets each source's position to its last change in `changes` (one Position per run of a source, not per row) */
export const advance = (next: Map<string, Position>, changes: ReadonlyArray<Queued>) => {
  for (let i = 0; i < changes.length; i++) {
    const c = changes[i]!
    const after = changes[i + 1]
    if (after === undefined || after.source !== c.source) next.set(c.source, { lsn: c.lsn, seq: c.seq })
  }
}
