/** A reusable cursor over one message in a Buffer: bounds-checked big-endian reads that fail with DecodeError. */
import { DecodeError } from "./PgOutputMessage.js"

/** microseconds between the Unix epoch and the Postgres epoch (2000-01-01T00:00:00Z) */
export const PG_EPOCH_OFFSET_US = 946_684_800_000_000n
const PG_EPOCH_OFFSET_US_NUMBER = 946_684_800_000_000
const TWO_32 = 4_294_967_296
/** a high word below this keeps hi * 2^32 + lo below 2^53, an exact number */
const EXACT_HI = 0x20_0000
/** the same for |hi * 2^32 + lo + the epoch offset| (timestamps up to about the year 2250) */
const EXACT_TS_HI = 0x1c_0000

const EMPTY = Buffer.alloc(0)

/** Buffer's own UTF-8 decoder, without toString's argument handling (a measurable share of decoding) */
type Utf8Sliced = Buffer & { utf8Slice(start: number, end: number): string }

const tagName = (tag: number): string =>
  tag >= 0x20 && tag < 0x7f ? `'${String.fromCharCode(tag)}'` : `0x${tag.toString(16).padStart(2, "0")}`

export class BufferReader {
  buf: Buffer = EMPTY
  start = 0
  pos = 0
  end = 0
  tag = -1

  reset(buf: Buffer, start: number, end: number): void {
    this.buf = buf
    this.start = start
    this.pos = start
    this.end = end
    this.tag = -1
  }

  /** releases the reference to the last input buffer */
  clear(): void {
    this.reset(EMPTY, 0, 0)
  }

  fail(reason: string, at: number = this.pos): never {
    const offset = at - this.start
    const tag = this.tag < 0 ? "message" : `message ${tagName(this.tag)}`
    throw new DecodeError({ tag: this.tag, offset, message: `pgoutput ${tag}: ${reason} at offset ${offset}` })
  }

  remaining(): number {
    return this.end - this.pos
  }

  need(n: number): void {
    if (n > this.end - this.pos) this.fail(`truncated: need ${n} bytes, ${this.end - this.pos} left`)
  }

  u8(): number {
    this.need(1)
    return this.buf[this.pos++]!
  }

  u16(): number {
    this.need(2)
    const v = this.buf.readUInt16BE(this.pos)
    this.pos += 2
    return v
  }

  i32(): number {
    this.need(4)
    const v = this.buf.readInt32BE(this.pos)
    this.pos += 4
    return v
  }

  u32(): number {
    this.need(4)
    const v = this.buf.readUInt32BE(this.pos)
    this.pos += 4
    return v
  }

  /**
   * An unsigned 64-bit integer. Below 2^53 (every real LSN) it is built from one exact number: one BigInt per
   * value instead of the four Buffer#readBigUInt64BE makes (each message carries one to three of them)
   */
  u64(): bigint {
    this.need(8)
    const hi = this.buf.readUInt32BE(this.pos)
    const v =
      hi < EXACT_HI ? BigInt(hi * TWO_32 + this.buf.readUInt32BE(this.pos + 4)) : this.buf.readBigUInt64BE(this.pos)
    this.pos += 8
    return v
  }

  /** a Postgres TimestampTz (Int64 µs since 2000-01-01) as µs since the Unix epoch */
  timestampUs(): bigint {
    this.need(8)
    const hi = this.buf.readInt32BE(this.pos)
    const v =
      hi < EXACT_TS_HI && hi >= -EXACT_TS_HI
        ? BigInt(hi * TWO_32 + this.buf.readUInt32BE(this.pos + 4) + PG_EPOCH_OFFSET_US_NUMBER)
        : this.buf.readBigInt64BE(this.pos) + PG_EPOCH_OFFSET_US
    this.pos += 8
    return v
  }

  /** a NUL-terminated UTF-8 string */
  cstring(): string {
    const nul = this.buf.indexOf(0, this.pos)
    if (nul < 0 || nul >= this.end) this.fail("unterminated string")
    const s = this.buf.toString("utf8", this.pos, nul)
    this.pos = nul + 1
    return s
  }

  /** `len` bytes of UTF-8 */
  text(len: number): string {
    if (len < 0) this.fail(`negative length ${len}`, this.pos - 4)
    this.need(len)
    const s = len === 0 ? "" : (this.buf as Utf8Sliced).utf8Slice(this.pos, this.pos + len)
    this.pos += len
    return s
  }

  /** a copy of `len` bytes */
  bytes(len: number): Buffer {
    if (len < 0) this.fail(`negative length ${len}`, this.pos - 4)
    this.need(len)
    const out = Buffer.allocUnsafe(len)
    this.buf.copy(out, 0, this.pos, this.pos + len)
    this.pos += len
    return out
  }

  done(): void {
    if (this.pos !== this.end) this.fail(`${this.end - this.pos} unexpected trailing bytes`)
  }
}
