import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import type { Change } from "../../../src/domain/Change.js"
import { collectBatch, newPace } from "../../../src/writers/Batching.js"
import { Mailbox } from "../../../src/writers/Mailbox.js"
import { atTick, tickAfter } from "../../../src/writers/TickClock.js"

const change = (seq: number): Change => ({ _tag: "Row", source: "a", lsn: 1n, seq }) as unknown as Change

describe("TickClock", () => {
  it("runs every wait due on one tick in one timer callback, before anything the first one schedules", async () => {
    const order: Array<string> = []
    const at = tickAfter(performance.now() + 5, 10)
    await new Promise<void>((done) => {
      atTick(at, () => {
        order.push("first")
        setImmediate(() => order.push("next turn"))
        setTimeout(() => order.push("next timer"), 0)
      })
      // set later, with a shorter delay of its own: still on the same tick
      setTimeout(() => atTick(at, () => order.push("second")), 2)
      atTick(tickAfter(at + 1, 10), () => {
        order.push("later tick")
        done()
      })
    })
    expect(order.slice(0, 2)).toEqual(["first", "second"])
    expect(order).toContain("next turn")
    expect(order.at(-1)).toBe("later tick")
    expect(performance.now()).toBeGreaterThanOrEqual(at)
  })

  it.live("writers pacing a sparse stream wake on the same tick, in one turn", () =>
    Effect.gen(function* () {
      const boxes = [new Mailbox<Change>(64), new Mailbox<Change>(64), new Mailbox<Change>(64)]
      const paces = boxes.map(() => newPace())
      const policy = { max: 100, lingerMs: 0, minRows: 256, minLingerMs: 20 }
      // each took a batch just now: a single change now waits for the next tick at least 10 ms away. Takes a
      // few hundred µs apart can straddle a tick (more often on a loaded machine): those writers are due on
      // different ticks, so the takes are repeated until all three are due on one
      const dueTicks = () => new Set(paces.map((p) => tickAfter(p.last + policy.minLingerMs / 2, policy.minLingerMs)))
      for (let attempt = 0; attempt === 0 || (dueTicks().size > 1 && attempt < 20); attempt++) {
        yield* Effect.forEach(boxes, (b, i) => Effect.sync(() => b.tryOffer(change(i))))
        yield* Effect.forEach(boxes, (b, i) => collectBatch(b, policy, paces[i]), { concurrency: "unbounded" })
      }
      expect(dueTicks().size).toBe(1)
      const turns: Array<number> = []
      let turn = 0
      const counting = setInterval(() => turn++, 1)
      yield* Effect.forEach(boxes, (b, i) => Effect.sync(() => b.tryOffer(change(10 + i))))
      yield* Effect.forEach(
        boxes,
        (b, i) => collectBatch(b, policy, paces[i]).pipe(Effect.tap(() => Effect.sync(() => turns.push(turn)))),
        { concurrency: "unbounded" }
      )
      clearInterval(counting)
      expect(turns).toHaveLength(3)
      expect(new Set(turns).size).toBe(1)
    })
  )
})
