import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber, Option } from "effect"
import { Mailbox } from "../../../src/writers/Mailbox.js"

describe("Mailbox", () => {
  it.effect("hands items out in order, at most `max` per take", () =>
    Effect.gen(function* () {
      const box = new Mailbox<number>(100)
      for (let i = 0; i < 10; i++) expect(box.tryOffer(i)).toBe(true)
      expect(yield* box.takeUpTo(4)).toEqual([0, 1, 2, 3])
      expect(box.size).toBe(6)
      expect(yield* box.takeUpTo(100)).toEqual([4, 5, 6, 7, 8, 9])
      expect(box.size).toBe(0)
    })
  )

  it.effect("refuses a try-offer when full and suspends an offer until a take makes room", () =>
    Effect.gen(function* () {
      const box = new Mailbox<number>(2)
      expect(box.tryOffer(1) && box.tryOffer(2)).toBe(true)
      expect(box.tryOffer(3)).toBe(false)
      const offering = yield* Effect.fork(box.offer(3))
      yield* Effect.yieldNow()
      expect(offering.unsafePoll()).toBeNull()
      expect(box.tryOffer(4)).toBe(false) // an offerer waits: later items may not overtake it
      expect(yield* box.takeUpTo(1)).toEqual([1])
      yield* Fiber.join(offering)
      expect(box.size).toBe(2)
      expect(yield* box.takeUpTo(10)).toEqual([2, 3])
    })
  )

  it.effect("serves waiting offerers first come, first served", () =>
    Effect.gen(function* () {
      const box = new Mailbox<string>(1)
      box.tryOffer("a")
      const f1 = yield* Effect.fork(box.offer("b"))
      yield* Effect.yieldNow()
      const f2 = yield* Effect.fork(box.offer("c"))
      yield* Effect.yieldNow()
      const taken: Array<string> = []
      while (taken.length < 3) taken.push(...(yield* box.takeUpTo(10)))
      yield* Fiber.join(f1)
      yield* Fiber.join(f2)
      expect(taken).toEqual(["a", "b", "c"])
    })
  )

  it.live("a taker waits for the first item; an interrupted wait or offer takes and adds nothing", () =>
    Effect.gen(function* () {
      const box = new Mailbox<number>(1)
      const waiting = yield* Effect.fork(box.takeUpTo(5))
      yield* Effect.yieldNow()
      box.tryOffer(7)
      expect(yield* Fiber.join(waiting)).toEqual([7])

      const timedOut = yield* box.takeUpTo(5).pipe(Effect.timeoutOption("10 millis"))
      expect(Option.isNone(timedOut)).toBe(true)
      box.tryOffer(8)
      const blocked = yield* Effect.fork(box.offer(9))
      yield* Effect.yieldNow()
      yield* Fiber.interrupt(blocked)
      expect(yield* box.takeUpTo(5)).toEqual([8])
      expect(box.size).toBe(0)
      expect(box.tryOffer(10)).toBe(true)
    })
  )

  it.live(
    "a bounded wait for a size wakes at the size, at a full mailbox, or at the deadline, and leaves no taker behind",
    () =>
      Effect.gen(function* () {
        const box = new Mailbox<number>(3)
        box.tryOffer(1)
        const bySize = yield* Effect.fork(box.awaitSizeWithin(2, 60_000))
        yield* Effect.yieldNow()
        expect(bySize.unsafePoll()).toBeNull()
        box.tryOffer(2)
        yield* Fiber.join(bySize)
        const byFull = yield* Effect.fork(box.awaitSizeWithin(10, 60_000))
        yield* Effect.yieldNow()
        box.tryOffer(3)
        yield* Fiber.join(byFull)
        expect(yield* box.takeUpTo(10)).toEqual([1, 2, 3])

        const started = Date.now()
        yield* box.awaitSizeWithin(2, 30)
        expect(Date.now() - started).toBeGreaterThanOrEqual(25)
        const interrupted = yield* Effect.fork(box.awaitSizeWithin(2, 60_000))
        yield* Effect.yieldNow()
        yield* Fiber.interrupt(interrupted)
        // neither the timed-out nor the interrupted wait holds on to the taker: the next take is served
        const taking = yield* Effect.fork(box.takeUpTo(5))
        yield* Effect.yieldNow()
        box.tryOffer(4)
        expect(yield* Fiber.join(taking)).toEqual([4])
      })
  )

  it.effect("keeps order across many partial takes (the backing array is compacted)", () =>
    Effect.gen(function* () {
      const box = new Mailbox<number>(10_000)
      let next = 0
      const out: Array<number> = []
      for (let round = 0; round < 50; round++) {
        for (let i = 0; i < 300; i++) box.tryOffer(next++)
        out.push(...(yield* box.takeUpTo(250)))
      }
      while (box.size > 0) out.push(...(yield* box.takeUpTo(1000)))
      expect(out).toEqual(Array.from({ length: next }, (_, i) => i))
    })
  )
})
