import { describe, expect, it } from "@effect/vitest"
import { RawArena } from "../../../src/decode/RawTuple.js"

const bytes = (n: number, seed: number) => Buffer.from(Array.from({ length: n }, (_, i) => (i * 31 + seed) & 0xff))

describe("RawArena", () => {
  it("copies short rows, long rows and rows larger than its share of a slab exactly, and never overlaps them", () => {
    const arena = new RawArena(8192)
    const kept: Array<{ buf: Buffer; at: number; expected: Buffer }> = []
    // sizes on both sides of the byte-by-byte threshold and of a slab's share (8192 / 8), from offsets in a larger chunk
    for (const [i, n] of [1, 17, 255, 256, 257, 700, 1023, 1024, 1025, 3000, 90, 0].entries()) {
      const chunk = Buffer.concat([bytes(13, i), bytes(n, i + 100), bytes(7, i)])
      const at = arena.put(chunk, 13, 13 + n)
      kept.push({ buf: arena.buf, at, expected: bytes(n, i + 100) })
      chunk.fill(0) // the source is reused by the caller (a socket read): the copy must not depend on it
    }
    for (const { buf, at, expected } of kept) expect(buf.subarray(at, at + expected.length)).toEqual(expected)
  })
})
