import { describe, expect, it } from "@effect/vitest"
import { LsnTracker } from "../../../src/ack/LsnTracker.js"

const txn = (t: LsnTracker, commit: bigint, end: bigint, changes: number) => {
  t.begin(commit)
  t.dispatched(changes)
  t.commit(end)
}

describe("LsnTracker", () => {
  it("confirms nothing past a transaction with uncommitted changes", () => {
    const t = new LsnTracker(100n)
    txn(t, 200n, 210n, 2)
    txn(t, 300n, 310n, 1)
    expect(t.confirmable).toBe(100n)
    t.release(300n, 1)
    expect(t.confirmable).toBe(100n)
    t.release(200n, 1)
    expect(t.confirmable).toBe(100n)
    t.release(200n, 1)
    expect(t.confirmable).toBe(310n)
    expect(t.outstanding).toBe(0)
  })

  it("confirms empty transactions (unmapped tables) at their end", () => {
    const t = new LsnTracker(0n)
    txn(t, 50n, 60n, 0)
    expect(t.confirmable).toBe(60n)
  })

  it("never confirms an open transaction even when its changes are released", () => {
    const t = new LsnTracker(0n)
    t.begin(500n)
    t.dispatched(3)
    t.release(500n, 3)
    expect(t.confirmable).toBe(0n)
    t.commit(510n)
    expect(t.confirmable).toBe(510n)
  })

  it("takes keepalive positions only when idle", () => {
    const t = new LsnTracker(10n)
    t.idle(1000n)
    expect(t.confirmable).toBe(1000n)
    t.begin(2000n)
    t.dispatched(1)
    t.idle(3000n)
    expect(t.confirmable).toBe(1000n)
    t.commit(2010n)
    t.idle(3000n)
    expect(t.confirmable).toBe(1000n)
    t.release(2000n, 1)
    expect(t.confirmable).toBe(2010n)
    t.idle(3000n)
    expect(t.confirmable).toBe(3000n)
  })

  it("a cap keeps the position below a stopped table's first unapplied change", () => {
    const t = new LsnTracker(0n)
    txn(t, 100n, 110n, 1)
    t.capAt(100n)
    t.release(100n, 1)
    txn(t, 200n, 210n, 0)
    t.idle(5000n)
    expect(t.confirmable).toBe(99n)
    t.capAt(400n)
    expect(t.confirmable).toBe(99n)
  })

  it("rejects releasing more than was dispatched", () => {
    const t = new LsnTracker(0n)
    txn(t, 100n, 110n, 1)
    expect(() => t.release(100n, 2)).toThrow(/released more/)
  })

  it("stays compact over many transactions", () => {
    const t = new LsnTracker(0n)
    for (let i = 1n; i <= 100_000n; i++) {
      txn(t, i * 10n, i * 10n + 5n, 1)
      t.release(i * 10n, 1)
    }
    expect(t.confirmable).toBe(1_000_005n)
    expect(t.outstanding).toBe(0)
  })

  it("finds each transaction among many outstanding ones, released in any order", () => {
    const t = new LsnTracker(0n)
    const n = 5000
    for (let i = 1; i <= n; i++) txn(t, BigInt(i * 100), BigInt(i * 100 + 10), 2)
    const order = Array.from({ length: n }, (_, i) => i + 1)
    for (let i = order.length - 1; i > 0; i--) {
      const j = (i * 7919) % (i + 1)
      ;[order[i], order[j]] = [order[j]!, order[i]!]
    }
    for (const i of order) if (i !== 1) t.release(BigInt(i * 100), 2)
    expect(t.confirmable).toBe(0n)
    expect(t.outstanding).toBe(2)
    t.release(100n, 1)
    expect(t.confirmable).toBe(0n)
    t.release(100n, 1)
    expect(t.confirmable).toBe(BigInt(n * 100 + 10))
  })

  it("still finds transactions whose commit LSNs arrive out of order", () => {
    const t = new LsnTracker(0n)
    txn(t, 300n, 310n, 1)
    txn(t, 200n, 210n, 1)
    txn(t, 400n, 410n, 1)
    t.release(200n, 1)
    t.release(400n, 1)
    expect(t.confirmable).toBe(0n)
    t.release(300n, 1)
    expect(t.confirmable).toBe(410n)
  })

  it("follows writers releasing interleaved batches in commit order, across compactions", () => {
    const t = new LsnTracker(0n)
    const n = 6000
    for (let i = 1; i <= n; i++) txn(t, BigInt(i * 100), BigInt(i * 100 + 10), 3)
    // three writers, each with one change of every transaction, releasing batches of 250 in turn
    for (let from = 1; from <= n; from += 250) {
      for (let w = 0; w < 3; w++) {
        for (let i = from; i < from + 250; i++) t.release(BigInt(i * 100), 1)
        const done = w === 2 ? from + 249 : from - 1
        expect(t.confirmable).toBe(done === 0 ? 0n : BigInt(done * 100 + 10))
      }
    }
    expect(t.outstanding).toBe(0)
    t.release(100n, 1) // long confirmed: nothing to find, nothing changes
    expect(t.confirmable).toBe(BigInt(n * 100 + 10))
  })
})
