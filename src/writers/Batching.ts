import { Chunk, Clock, Effect, Option, Queue } from "effect"
import type { Change } from "../domain/Change.js"
import type { Lsn } from "../domain/Lsn.js"

/**
 * Takes up to `max` changes: waits for the first, then keeps taking until the batch is full or
 * `lingerMs` has passed since the first arrived. Under load batches fill at once; when idle a change
 * waits at most `lingerMs`.
 */
export const collectBatch = (mailbox: Queue.Dequeue<Change>, max: number, lingerMs: number) =>
  Effect.gen(function* () {
    const first = yield* Queue.takeBetween(mailbox, 1, max)
    const batch = Chunk.toArray(first) as Array<Change>
    const deadline = (yield* Clock.currentTimeMillis) + lingerMs
    while (batch.length < max) {
      const left = deadline - (yield* Clock.currentTimeMillis)
      if (left <= 0) break
      const next = yield* Queue.take(mailbox).pipe(Effect.timeoutOption(left))
      if (Option.isNone(next)) break
      batch.push(next.value)
      if (batch.length < max) {
        const more = yield* Queue.takeUpTo(mailbox, max - batch.length)
        for (const c of more) batch.push(c)
      }
    }
    return batch as ReadonlyArray<Change>
  })

/** releases a batch to the acknowledger in runs of consecutive changes of one source transaction */
export const releaseRuns = (
  batch: ReadonlyArray<Change>,
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
