import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type { Queued } from "../../../src/domain/Change.js"
import { Mailbox } from "../../../src/writers/Mailbox.js"
import { offerBefore } from "../../../src/writers/OfferBefore.js"
import type { TableWriter } from "../../../src/writers/TableWriter.js"

const change = (seq: number) => ({ _tag: "Row", source: "a", lsn: 1n, seq }) as unknown as Queued

const writerOf = (mailbox: Mailbox<Queued>) =>
  ({ tryOffer: (c: Queued) => mailbox.tryOffer(c) }) as unknown as TableWriter

describe("offerBefore", () => {
  it.live("gives up at the deadline on a mailbox that stays full, taking nothing", () =>
    Effect.gen(function* () {
      const mailbox = new Mailbox<Queued>(1)
      mailbox.tryOffer(change(0))
      const started = Date.now()
      expect(yield* offerBefore(writerOf(mailbox), change(1), started + 50)).toBe(false)
      expect(Date.now() - started).toBeGreaterThanOrEqual(50)
      expect((yield* mailbox.takeUpTo(10)).map((c) => c.seq)).toEqual([0])
    })
  )

  it.live("delivers once a take makes room before the deadline", () =>
    Effect.gen(function* () {
      const mailbox = new Mailbox<Queued>(1)
      mailbox.tryOffer(change(0))
      const offering = yield* Effect.fork(offerBefore(writerOf(mailbox), change(1), Date.now() + 10_000))
      yield* Effect.sleep("30 millis")
      expect((yield* mailbox.takeUpTo(10)).map((c) => c.seq)).toEqual([0])
      expect(yield* Fiber.join(offering)).toBe(true)
      expect((yield* mailbox.takeUpTo(10)).map((c) => c.seq)).toEqual([1])
    })
  )
})
