import { Clock, Effect, Option } from "effect"
import type { Queued } from "../domain/Change.js"
import type { Lsn } from "../domain/Lsn.js"
import type { Position } from "../sink/Sink.js"
import type { Mailbox } from "./Mailbox.js"

/**
 * Takes up to `max` changes: waits for the first, then keeps taking until the batch is full or
 * `lingerMs` has passed since the first arrived. Under load batches fill at once; when idle a change
 * waits at most `lingerMs`.
 */
export const collectBatch = <A>(mailbox: Mailbox<A>, max: number, lingerMs: number) =>
  Effect.gen(function* () {
    const first = yield* mailbox.takeUpTo(max)
    if (lingerMs <= 0 || first.length >= max) return first
    const batch = first.slice()
    const deadline = (yield* Clock.currentTimeMillis) + lingerMs
    while (batch.length < max) {
      const left = deadline - (yield* Clock.currentTimeMillis)
      if (left <= 0) break
      const more = yield* mailbox.takeUpTo(max - batch.length).pipe(Effect.timeoutOption(left))
      if (Option.isNone(more)) break
      for (const c of more.value) batch.push(c)
    }
    return batch as ReadonlyArray<A>
  })

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
