import { describe, expect, it } from "@effect/vitest"
import { type Duration, Effect, Fiber } from "effect"
import type { Change } from "../../../src/domain/Change.js"
import {
  collectBatch,
  newPace,
  type Pace,
  releaseRuns,
  WIDE_LINGERS,
  WIDE_ROWS
} from "../../../src/writers/Batching.js"
import { Mailbox } from "../../../src/writers/Mailbox.js"

const change = (source: string, lsn: bigint, seq: number): Change =>
  ({ _tag: "Row", source, lsn, seq }) as unknown as Change

const policy = (max: number, lingerMs: number, minRows = 256, minLingerMs = 10) => ({
  max,
  lingerMs,
  minRows,
  minLingerMs
})

/** offers changes with seq from..to-1 */
const fill = (q: Mailbox<Change>, from: number, to: number) =>
  Effect.forEach(
    Array.from({ length: to - from }, (_, i) => from + i),
    (i) => q.offer(change("a", 1n, i)),
    { discard: true }
  )

/** a collect that wakes to `found` changes, `more` of which arrive `after` it started */
const busyWait = (
  q: Mailbox<Change>,
  p: ReturnType<typeof policy>,
  pace: Pace,
  found: number,
  more: number,
  after: Duration.DurationInput
) =>
  Effect.gen(function* () {
    yield* fill(q, 0, found)
    const collecting = yield* Effect.fork(collectBatch(q, p, pace))
    yield* Effect.sleep(after)
    yield* fill(q, found, found + more)
    return yield* Fiber.join(collecting)
  })

describe("Batching", () => {
  it.effect("takes what is there at once when the batch fills", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(16)
      yield* fill(q, 0, 10)
      const batch = yield* collectBatch(q, policy(4, 1000))
      expect(batch.map((c) => c.seq)).toEqual([0, 1, 2, 3])
    })
  )

  it.live("waits at most the linger time for more after the first change", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(16)
      const fiber = yield* Effect.fork(collectBatch(q, policy(100, 300)))
      yield* q.offer(change("a", 1n, 1))
      yield* Effect.sleep("20 millis")
      yield* q.offer(change("a", 1n, 2))
      yield* Effect.sleep("500 millis")
      yield* q.offer(change("a", 1n, 3))
      const batch = yield* Fiber.join(fiber)
      expect(batch.map((c) => c.seq)).toEqual([1, 2])
    })
  )

  it.effect("takes a lone change at once, without lingering", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(16)
      yield* q.offer(change("a", 1n, 1))
      const batch = yield* collectBatch(q, policy(100, 0, 4, 1000))
      expect(batch.map((c) => c.seq)).toEqual([1])
    })
  )

  it.live("a sparse stream (fewer than minRows / 32 per batch) is taken at once; minRows / 32 lingers", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(64)
      yield* fill(q, 0, 7)
      expect((yield* collectBatch(q, policy(5000, 0, 256, 60_000))).length).toBe(7)
      yield* fill(q, 0, 8)
      const fiber = yield* Effect.fork(collectBatch(q, policy(5000, 0, 256, 60_000)))
      yield* Effect.sleep("20 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* Fiber.interrupt(fiber)
    })
  )

  it.live("a writer's batches of a few changes come at most once per minimum linger; a sparse stream's at once", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(64)
      const pace = newPace()
      // the first batch, and any after a quiet minimum linger, is taken at once
      yield* fill(q, 0, 1)
      expect((yield* collectBatch(q, policy(100, 0, 256, 300), pace)).length).toBe(1)
      // the next, found right after, waits out the rest of the minimum linger, taking what came meanwhile
      yield* fill(q, 1, 2)
      const fiber = yield* Effect.fork(collectBatch(q, policy(100, 0, 256, 300), pace))
      yield* Effect.sleep("50 millis")
      expect(fiber.unsafePoll()).toBeNull()
      // the change it waits with is still queued: the writer's `drained` counts it as pending
      expect(q.size).toBe(1)
      yield* fill(q, 2, 4)
      const batch = yield* Fiber.join(fiber)
      expect(batch.map((c) => c.seq)).toEqual([1, 2, 3])
      expect(q.size).toBe(0)
      // a quiet minimum linger later, a lone change goes at once
      yield* Effect.sleep("320 millis")
      yield* fill(q, 4, 5)
      const started = performance.now()
      expect((yield* collectBatch(q, policy(100, 0, 256, 300), pace)).length).toBe(1)
      expect(performance.now() - started).toBeLessThan(100)
    })
  )

  it.live("writers that pace at about the same time end their waits together, on one tick of a shared clock", () =>
    Effect.gen(function* () {
      const linger = 400
      const a = new Mailbox<Change>(64)
      const b = new Mailbox<Change>(64)
      const paceA = newPace()
      const paceB = newPace()
      // 10 ms past a tick, writer A takes a lone change; 50 ms later writer B does
      const tick = Math.ceil(performance.now() / linger) * linger
      yield* Effect.sleep(tick - performance.now() + 10)
      yield* fill(a, 0, 1)
      yield* collectBatch(a, policy(100, 0, 256, linger), paceA)
      yield* Effect.sleep("50 millis")
      yield* fill(b, 0, 1)
      yield* collectBatch(b, policy(100, 0, 256, linger), paceB)
      // each then paces its next lone change: A alone would wait until 410 ms after the tick, B until 460
      yield* fill(a, 1, 2)
      yield* fill(b, 1, 2)
      const ended = (q: Mailbox<Change>, pace: typeof paceA) =>
        collectBatch(q, policy(100, 0, 256, linger), pace).pipe(Effect.map(() => performance.now()))
      const [endA, endB] = yield* Effect.all([ended(a, paceA), ended(b, paceB)], { concurrency: 2 })
      expect(Math.abs(endA - endB)).toBeLessThan(25)
      // both on the next tick: at least half a linger after either's previous batch
      expect(endA - tick).toBeGreaterThanOrEqual(linger - 1)
      expect(endA - tick).toBeLessThan(linger + 100)
    })
  )

  it.live("a small batch of a steady stream waits up to the minimum linger for the minimum rows", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(64)
      yield* fill(q, 0, 2)
      const fiber = yield* Effect.fork(collectBatch(q, policy(100, 0, 5, 60_000)))
      yield* Effect.sleep("10 millis")
      yield* q.offer(change("a", 1n, 2))
      yield* Effect.sleep("10 millis")
      expect(fiber.unsafePoll()).toBeNull()
      yield* fill(q, 3, 7)
      const batch = yield* Fiber.join(fiber)
      // woken once the minimum is reached, it takes everything waiting (up to max)
      expect(batch.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4, 5, 6])
    })
  )

  it.live("the minimum linger is a bound: what arrived by then is the batch", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(64)
      yield* fill(q, 0, 3)
      const fiber = yield* Effect.fork(collectBatch(q, policy(100, 0, 50, 300)))
      yield* Effect.sleep("20 millis")
      yield* q.offer(change("a", 1n, 3))
      yield* Effect.sleep("500 millis")
      const batch = yield* Fiber.join(fiber)
      expect(batch.map((c) => c.seq)).toEqual([0, 1, 2, 3])
      expect(q.size).toBe(0)
    })
  )

  it.effect("a batch already at the minimum, or a minimum linger of 0, is taken at once", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(64)
      yield* fill(q, 0, 5)
      expect((yield* collectBatch(q, policy(100, 0, 5, 1000))).length).toBe(5)
      yield* fill(q, 0, 3)
      expect((yield* collectBatch(q, policy(100, 0, 5, 0))).length).toBe(3)
      // the minimum never exceeds the maximum batch
      yield* fill(q, 0, 3)
      expect((yield* collectBatch(q, policy(3, 0, 5, 1000))).length).toBe(3)
    })
  )

  it.live("an interrupted linger or pacing wait leaves its changes in the mailbox", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(64)
      const interruptedWhileWaiting = (pace = newPace()) =>
        Effect.fork(collectBatch(q, policy(100, 0, 256, 60_000), pace)).pipe(
          Effect.tap(() => Effect.sleep("20 millis")),
          Effect.flatMap(Fiber.interrupt)
        )
      yield* fill(q, 0, 8)
      yield* interruptedWhileWaiting()
      yield* fill(q, 8, 9)
      yield* interruptedWhileWaiting({ last: performance.now(), wide: false })
      expect((yield* q.takeUpTo(100)).map((c) => c.seq)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8])
    })
  )

  it.live("an interrupted collect leaves no waiter that takes changes or silences the next collect", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(512)
      // interrupted while waiting for a first change: the change that comes later stays for the next collect
      const idle = yield* Effect.fork(collectBatch(q, policy(100, 0, 256, 60_000)))
      yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(idle)
      yield* fill(q, 0, 1)
      expect((yield* collectBatch(q, policy(100, 0, 256, 60_000))).map((c) => c.seq)).toEqual([0])
      // interrupted while lingering, its timer (due within ~150 ms) still set
      yield* fill(q, 0, 8)
      const lingering = yield* Effect.fork(collectBatch(q, policy(500, 0, 256, 100)))
      yield* Effect.sleep("10 millis")
      yield* Fiber.interrupt(lingering)
      // the next collect lingers (30 s or more) for 256 changes: the old timer must neither wake it nor stop it
      // from waking when they come
      const next = yield* Effect.fork(collectBatch(q, policy(500, 0, 256, 60_000)))
      yield* Effect.sleep("300 millis")
      expect(next.unsafePoll()).toBeNull()
      expect(q.size).toBe(8)
      yield* fill(q, 8, 256)
      const batch = yield* Fiber.join(next).pipe(Effect.timeout("2 seconds"))
      expect(batch.map((c) => c.seq)).toEqual(Array.from({ length: 256 }, (_, i) => i))
    })
  )

  it.live("changes arriving at minRows / 4 per linger make a stream wide: larger batches, longer waits", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(1024)
      const pace = newPace()
      const wide = policy(5000, 0, 64, 100)
      // a busy wait (8 found, at least 64 / 32) to which 56 arrive within ~20 ms (16 per 100 ms make it wide)
      expect((yield* busyWait(q, wide, pace, 8, 56, "20 millis")).length).toBe(64)
      expect(pace.wide).toBe(true)
      // wide: the next busy wait is for 4 x 64 rows until a tick 250 ms or more away (narrow: 150 ms at most)
      expect([WIDE_ROWS, WIDE_LINGERS]).toEqual([4, 2.5])
      yield* fill(q, 64, 72)
      const started = performance.now()
      const second = yield* Effect.fork(collectBatch(q, wide, pace))
      yield* Effect.sleep("200 millis")
      expect(second.unsafePoll()).toBeNull()
      yield* fill(q, 72, 200)
      expect(second.unsafePoll()).toBeNull() // 136 found: past the minimum, still short of 256
      yield* fill(q, 200, 320)
      const batch = yield* Fiber.join(second)
      expect(batch.map((c) => c.seq)).toEqual(Array.from({ length: 256 }, (_, i) => 64 + i))
      expect(performance.now() - started).toBeLessThan(250)
      expect(pace.wide).toBe(true)
      // a wide wait to which nothing arrives: narrow again, after waiting out its tick
      q.takeNow(1024)
      yield* fill(q, 0, 8)
      const t = performance.now()
      expect((yield* collectBatch(q, wide, pace)).length).toBe(8)
      expect(performance.now() - t).toBeGreaterThanOrEqual(245)
      expect(pace.wide).toBe(false)
    })
  )

  it.live(
    "what a writer finds on waking (a stall's backlog) never makes it wide; a wake to a few changes narrows it",
    () =>
      Effect.gen(function* () {
        const q = new Mailbox<Change>(1024)
        const pace = newPace()
        const wide = policy(5000, 0, 64, 100)
        // 300 found at once (a stall): taken without a wait, the stream stays narrow
        yield* fill(q, 0, 300)
        expect((yield* collectBatch(q, wide, pace)).length).toBe(300)
        expect(pace.wide).toBe(false)
        // 40 found, 4 more within the wait (~4 per 100 ms, under 16): narrow
        expect((yield* busyWait(q, wide, pace, 40, 4, "30 millis")).length).toBe(44)
        expect(pace.wide).toBe(false)
        // wide, then a wake to one change: narrow, and taken at once once a linger has passed
        pace.wide = true
        yield* Effect.sleep("120 millis")
        yield* fill(q, 0, 1)
        expect((yield* collectBatch(q, wide, pace)).length).toBe(1)
        expect(pace.wide).toBe(false)
      })
  )

  it.live("a linger wakes when the mailbox is full, so a blocked reader never waits out the linger", () =>
    Effect.gen(function* () {
      const q = new Mailbox<Change>(4)
      yield* fill(q, 0, 1)
      const fiber = yield* Effect.fork(collectBatch(q, policy(100, 60_000)))
      yield* Effect.sleep("10 millis")
      yield* fill(q, 1, 5)
      const batch = yield* Fiber.join(fiber)
      expect(batch.map((c) => c.seq)).toEqual([0, 1, 2, 3, 4])
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
