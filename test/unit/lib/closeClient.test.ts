import { describe, expect, it } from "@effect/vitest"
import { Effect, Fiber } from "effect"
import type pg from "pg"
import { closeClient, closeWithin } from "../../../src/lib/closeClient.js"

const never = () => new Promise<void>(() => undefined)
const after = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** runs `finalizer` as the finalizer of a fiber that is then interrupted; resolves when the interrupt returns */
const stopWith = async (finalizer: Effect.Effect<void>): Promise<number> => {
  const fiber = Effect.runFork(
    Effect.scoped(
      Effect.zipRight(
        Effect.addFinalizer(() => finalizer),
        Effect.never
      )
    )
  )
  await after(10)
  const started = Date.now()
  await Effect.runPromise(Fiber.interrupt(fiber))
  return Date.now() - started
}

describe("closeWithin", () => {
  it("gives up on a close that never completes, even in the finalizer of an interrupted fiber", async () => {
    let timedOut = 0
    const took = await stopWith(closeWithin(never, 100, () => timedOut++))
    expect(timedOut).toBe(1)
    expect(took).toBeGreaterThanOrEqual(90)
    expect(took).toBeLessThan(2_000)
  })

  it("waits for a close that completes in time, and ignores its failure", async () => {
    let closed = false
    let timedOut = 0
    const slow = () => after(50).then(() => void (closed = true))
    const failing = () => Promise.reject(new Error("already closed"))
    await stopWith(
      Effect.zipRight(
        closeWithin(slow, 1_000, () => timedOut++),
        closeWithin(failing, 1_000)
      )
    )
    expect(closed).toBe(true)
    expect(timedOut).toBe(0)
  })
})

describe("closeClient", () => {
  it("destroys the socket of a client whose end() does not complete in time", async () => {
    let destroyed = 0
    const client = { end: never, connection: { stream: { destroy: () => void destroyed++ } } }
    await stopWith(closeClient(client as unknown as pg.Client, 50))
    expect(destroyed).toBe(1)
  })
})
