/**
 * pgoutput TupleData kept as bytes. An insert's new row is not turned into strings when it arrives: its bytes
 * are copied into an arena and decoded only if something needs the values (folding, upserts, history). The
 * bulk path (apply/clone/RawCopy) writes them into COPY text as they are, so a row costs one small object instead
 * of an array, a string per column and the array the destination row is projected into.
 *
 * Arenas are slabs filled front to back; a slab lives while any row in it does. Rows leave an arena in the
 * order they entered it (an inbox, a mailbox), so what a slab pins is bounded by what is in flight there.
 */
import type { Tuple } from "../domain/Change.js"
import { BufferReader } from "./BufferReader.js"

const ch = (s: string): number => s.charCodeAt(0)
export const VALUE_TEXT = ch("t")
export const VALUE_NULL = ch("n")
export const VALUE_UNCHANGED = ch("u")
export const VALUE_BINARY = ch("b")

/** reads a TupleData at the reader's position into text values */
export const readTuple = (r: BufferReader): Tuple => {
  const n = r.u16()
  if (n > r.remaining()) r.fail(`tuple of ${n} columns in ${r.remaining()} bytes`, r.pos - 2)
  const values = new Array<string | null | undefined>(n)
  for (let i = 0; i < n; i++) {
    const kind = r.u8()
    if (kind === VALUE_TEXT) values[i] = r.text(r.i32())
    else if (kind === VALUE_NULL) values[i] = null
    else if (kind === VALUE_UNCHANGED) values[i] = undefined
    else if (kind === VALUE_BINARY) r.fail(`binary value in column ${i} (text format expected)`, r.pos - 1)
    else r.fail(`unknown value kind 0x${kind.toString(16)} in column ${i}`, r.pos - 1)
  }
  return values
}

/**
 * checks a TupleData at the reader's position as readTuple would and moves past it; true when every value is
 * text or NULL (what RawCopy can write as it is)
 */
export const skipTuple = (r: BufferReader): boolean => {
  const n = r.u16()
  if (n > r.remaining()) r.fail(`tuple of ${n} columns in ${r.remaining()} bytes`, r.pos - 2)
  let plain = true
  for (let i = 0; i < n; i++) {
    const kind = r.u8()
    if (kind === VALUE_TEXT) {
      const len = r.i32()
      if (len < 0) r.fail(`negative length ${len}`, r.pos - 4)
      r.need(len)
      r.pos += len
    } else if (kind === VALUE_UNCHANGED) plain = false
    else if (kind === VALUE_BINARY) r.fail(`binary value in column ${i} (text format expected)`, r.pos - 1)
    else if (kind !== VALUE_NULL) r.fail(`unknown value kind 0x${kind.toString(16)} in column ${i}`, r.pos - 1)
  }
  return plain
}

const reader = new BufferReader()

/** the text values of a TupleData that skipTuple accepted */
export const tupleAt = (buf: Buffer, start: number, end: number): Tuple => {
  reader.reset(buf, start, end)
  try {
    return readTuple(reader)
  } finally {
    reader.clear()
  }
}

/** value `index` of a TupleData that skipTuple accepted, without decoding the others */
export const valueAt = (buf: Buffer, start: number, end: number, index: number): string | null | undefined => {
  reader.reset(buf, start, end)
  try {
    const n = reader.u16()
    if (index >= n) return undefined
    for (let i = 0; i < index; i++) {
      if (reader.u8() !== VALUE_TEXT) continue
      const len = reader.i32()
      reader.pos += len
    }
    const kind = reader.u8()
    return kind === VALUE_TEXT ? reader.text(reader.i32()) : kind === VALUE_NULL ? null : undefined
  } finally {
    reader.clear()
  }
}

/** rows shorter than this are copied byte by byte */
const SHORT_COPY = 256

/** rows above this share of a slab get a buffer of their own */
const OWN_BUFFER_SHARE = 8

export class RawArena {
  /** the buffer the last `put` copied into */
  buf: Buffer
  private used = 0

  constructor(private readonly slabSize: number) {
    this.buf = Buffer.allocUnsafeSlow(0)
  }

  /** copies src[start, end) and returns its offset in `this.buf` */
  put(src: Buffer, start: number, end: number): number {
    const n = end - start
    if (n > this.slabSize / OWN_BUFFER_SHARE) {
      const own = Buffer.allocUnsafeSlow(n)
      src.copy(own, 0, start, end)
      this.buf = own
      this.used = n // the next put opens a slab
      return 0
    }
    if (this.used + n > this.buf.length || this.buf.length < this.slabSize) {
      this.buf = Buffer.allocUnsafeSlow(this.slabSize)
      this.used = 0
    }
    const at = this.used
    const buf = this.buf
    // Buffer#copy makes a Uint8Array view of the source range on every call: a row is short, a loop allocates nothing
    if (n < SHORT_COPY) for (let i = 0; i < n; i++) buf[at + i] = src[start + i]!
    else src.copy(buf, at, start, end)
    this.used = at + n
    return at
  }
}
