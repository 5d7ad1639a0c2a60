import { describe, expect, it } from "@effect/vitest"
import { BufferReader, PG_EPOCH_OFFSET_US } from "../../../src/decode/BufferReader.js"

const u64s = [0n, 1n, 0xffff_ffffn, 0x1_0000_0000n, 0x1f_ffff_ffff_ffffn, 0x20_0000_0000_0000n, 2n ** 64n - 1n]
const i64s = [
  0n,
  -1n,
  1n,
  850_000_000_000_000n,
  -(2n ** 63n),
  2n ** 63n - 1n,
  0x1b_ffff_ffff_ffffn,
  0x1c_0000_0000_0000n,
  // where µs since the Unix epoch pass 2^53, the last exact number
  2n ** 53n - PG_EPOCH_OFFSET_US
]
const edges = (xs: ReadonlyArray<bigint>) => xs.flatMap((x) => [x - 1n, x, x + 1n])
const readerOf = (buf: Buffer) => {
  const r = new BufferReader()
  r.reset(buf, 0, buf.length)
  return r
}

describe("BufferReader", () => {
  it("reads every unsigned 64-bit value exactly, on both sides of the exact-number fast path", () => {
    for (const v of edges(u64s).filter((x) => x >= 0n && x < 2n ** 64n)) {
      const buf = Buffer.alloc(9)
      buf.writeBigUInt64BE(v, 1)
      const r = readerOf(buf)
      r.u8()
      expect(r.u64()).toBe(v)
    }
  })

  it("reads every timestamp exactly as µs since the Unix epoch, on both sides of the fast path", () => {
    for (const v of edges(i64s).filter((x) => x >= -(2n ** 63n) && x < 2n ** 63n)) {
      const buf = Buffer.alloc(8)
      buf.writeBigInt64BE(v, 0)
      expect(readerOf(buf).timestampUs()).toBe(v + PG_EPOCH_OFFSET_US)
    }
  })
})
