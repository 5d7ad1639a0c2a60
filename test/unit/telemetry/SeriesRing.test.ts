/**
 * The console's ring of samples: aligned columns, oldest first, bounded by its capacity; a column missing from a
 * sample has null there, and one missing for a whole window is dropped. Plus the slot headroom warning.
 */
import { describe, expect, it } from "@effect/vitest"
import { makeSeriesRing } from "../../../src/telemetry/SeriesRing.js"
import { slotWarning } from "../../../src/telemetry/SlotHeadroom.js"

const m = (entries: Record<string, number | undefined>) => new Map(Object.entries(entries))

describe("SeriesRing", () => {
  it("keeps the last `capacity` samples in time order, columns aligned", () => {
    const ring = makeSeriesRing(3)
    ring.push(1, m({ a: 10 }))
    ring.push(2, m({ a: 20, b: 1 }))
    ring.push(3, m({ b: 2 }))
    ring.push(4, m({ a: 40, b: 3 }))
    const w = ring.read()
    expect(w.t).toEqual([2, 3, 4])
    expect(w.columns.get("a")).toEqual([20, null, 40])
    expect(w.columns.get("b")).toEqual([1, 2, 3])
    expect(ring.last("a")).toBe(40)
    expect(ring.at("b", 2)).toEqual({ t: 2, value: 1 })
    expect(ring.at("a", 1)).toBeUndefined()
    expect(ring.size()).toBe(3)
  })

  it("ignores undefined and non-finite values and drops a column absent for a whole window", () => {
    const ring = makeSeriesRing(2)
    ring.push(1, m({ gone: 5, x: Number.NaN }))
    ring.push(2, m({ y: undefined }))
    expect(ring.read().columns.get("gone")).toEqual([5, null])
    expect(ring.read().columns.has("x")).toBe(false)
    ring.push(3, m({}))
    ring.push(4, m({}))
    expect(ring.read().columns.has("gone")).toBe(false)
    expect(() => makeSeriesRing(1)).toThrow(/capacity/)
  })
})

describe("slot headroom warning", () => {
  it("warns on low headroom, on fast growth and on none left; not when unlimited or comfortable", () => {
    const GiB = 1024 ** 3
    expect(slotWarning({ retainedBytes: GiB, safeWalSizeBytes: undefined, growthBytesPerSecond: 1e9 })).toBeNull()
    expect(slotWarning({ retainedBytes: GiB, safeWalSizeBytes: 9 * GiB, growthBytesPerSecond: 0 })).toBeNull()
    expect(slotWarning({ retainedBytes: 9 * GiB, safeWalSizeBytes: GiB, growthBytesPerSecond: 0 })).toMatch(
      /only 1.0 GiB of WAL headroom left \(10% of max_slot_wal_keep_size\)/
    )
    expect(
      slotWarning({ retainedBytes: GiB, safeWalSizeBytes: 9 * GiB, growthBytesPerSecond: 10 * 1024 ** 2 })
    ).toMatch(/invalidated in about 15 min/)
    expect(slotWarning({ retainedBytes: GiB, safeWalSizeBytes: 0, growthBytesPerSecond: undefined })).toMatch(
      /no WAL headroom left/
    )
  })
})
