import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, TestClock } from "effect"
import type { Change } from "../../../src/domain/Change.js"
import { collectBatch, releaseRuns } from "../../../src/writers/Batching.js"
import { Mailbox } from "../../../src/writers/Mailbox.js"

const change = (source: string, lsn: bigint, seq: number): Change =>
  ({ _tag: "Row", source, lsn, seq }) as unknown as Change

describe("Batching", () => {
  it.effect("takes what is there at once when the batch fills", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(16)
      for (let i = 0; i < 10; i++) yield* q.offer(change("a", 1n, i))
      const batch = yield* collectBatch(q, 4, 1000)
      expect(batch.map((c) => c.seq)).toEqual([0, 1, 2, 3])
    })
  )

  it.effect("waits at most the linger time for more after the first change", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(16)
      const fiber = yield* Effect.fork(collectBatch(q, 100, 50))
      yield* q.offer(change("a", 1n, 1))
      yield* TestClock.adjust("10 millis")
      yield* q.offer(change("a", 1n, 2))
      yield* TestClock.adjust("60 millis")
      yield* q.offer(change("a", 1n, 3))
      const batch = yield* Fiber.join(fiber)
      expect(batch.map((c) => c.seq)).toEqual([1, 2])
    })
  )

  it("releases runs of one source transaction together", () => {
    const calls: Array<[string, bigint, number]> = []
    releaseRuns(
      [change("a", 1n, 1), change("a", 1n, 2), change("b", 1n, 1), change("a", 1n, 3), change("a", 2n, 1)],
      (s, l, n) => calls.push([s, l, n])
    )
    expect(calls).toEqual([
      ["a", 1n, 2],
      ["b", 1n, 1],
      ["a", 1n, 1],
      ["a", 2n, 1]
    ])
  })
})
