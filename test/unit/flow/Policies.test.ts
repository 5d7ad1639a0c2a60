import { describe, expect, it } from "@effect/vitest"
import { Effect, Exit, Schedule, TestClock } from "effect"
import { retryOnFailure } from "../../../src/flow/Policies.js"

/** an effect that fails `failures` times (recording when, in test-clock millis), then succeeds */
const flaky = (failures: number, times: Array<number>) => {
  let calls = 0
  return Effect.gen(function* () {
    times.push(yield* TestClock.currentTimeMillis)
    calls++
    if (calls <= failures) return yield* Effect.fail({ retryable: true, n: calls })
    return calls
  })
}

const run = <A, E>(effect: Effect.Effect<A, E>) =>
  Effect.gen(function* () {
    const fiber = yield* Effect.fork(Effect.exit(effect))
    yield* TestClock.adjust("1 hour")
    return yield* fiber.await.pipe(Effect.flatten)
  })

const schedule = Schedule.exponential("100 millis", 2).pipe(Schedule.intersect(Schedule.recurs(3)))

describe("retryOnFailure", () => {
  it.effect("makes the same attempts at the same times as Effect.retry", () =>
    Effect.gen(function* () {
      for (const failures of [0, 1, 3, 4, 10]) {
        const ours: Array<number> = []
        const theirs: Array<number> = []
        const a = yield* run(retryOnFailure(flaky(failures, ours), { schedule, while: (e) => e.retryable }))
        const b = yield* run(flaky(failures, theirs).pipe(Effect.retry({ schedule, while: (e) => e.retryable })))
        expect(Exit.isSuccess(a)).toBe(Exit.isSuccess(b))
        expect(a).toStrictEqual(b)
        expect(ours.map((t) => t - ours[0]!)).toStrictEqual(theirs.map((t) => t - theirs[0]!))
      }
    })
  )

  it.effect("does not retry a failure `while` rejects", () =>
    Effect.gen(function* () {
      const times: Array<number> = []
      const exit = yield* run(retryOnFailure(flaky(2, times), { schedule, while: () => false }))
      expect(exit).toStrictEqual(Exit.fail({ retryable: true, n: 1 }))
      expect(times).toHaveLength(1)
    })
  )
})
