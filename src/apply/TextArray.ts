/**
 * A one-dimensional text[] parameter in Postgres's binary array format (array_recv): node-postgres sends a
 * Buffer parameter in binary format as it is, so the server reads each element's bytes without parsing an
 * array literal, and the client neither quotes nor escapes them. Elements are written as UTF-8 text (text's
 * binary form), or as bytes that already are (RowArrays: values still in pgoutput's TupleData); NULL and
 * undefined (not written) are both SQL NULL, as in the text literal they replace.
 */

const TEXT_OID = 25
const HEADER = 20

type Text = string | null | undefined

/** builds one array at a time in a scratch buffer that only grows; `finish` copies it out */
export class TextArrayBuilder {
  private scratch = Buffer.allocUnsafeSlow(64 << 10)
  private o = HEADER
  private nulls = 0

  /** starts an array of `n` elements */
  start(n: number): void {
    this.room(0, HEADER + 4 * n)
    this.o = HEADER
    this.nulls = 0
  }

  text(v: Text): void {
    if (v === null || v === undefined) {
      this.room(this.o, 4)
      this.scratch.writeInt32BE(-1, this.o)
      this.o += 4
      this.nulls = 1
    } else {
      this.room(this.o, 4 + v.length * 3)
      const len = this.scratch.write(v, this.o + 4, "utf8")
      this.scratch.writeInt32BE(len, this.o)
      this.o += 4 + len
    }
  }

  /** an element that is `len` bytes of UTF-8 at src[from] */
  bytes(src: Buffer, from: number, len: number): void {
    this.room(this.o, 4 + len)
    const out = this.scratch
    out.writeInt32BE(len, this.o)
    let o = this.o + 4
    // Buffer#copy builds a view per call (garbage and ~60 ns): a loop costs as much for short values
    if (len < 128) for (let x = from, e = from + len; x < e; x++) out[o++] = src[x]!
    else o += src.copy(out, o, from, from + len)
    this.o = o
  }

  /** the array of the `n` elements written since `start` */
  finish(n: number): Buffer {
    const s = this.scratch
    s.writeInt32BE(1, 0)
    s.writeInt32BE(this.nulls, 4)
    s.writeInt32BE(TEXT_OID, 8)
    s.writeInt32BE(n, 12)
    s.writeInt32BE(1, 16)
    const out = Buffer.allocUnsafe(this.o)
    s.copy(out, 0, 0, this.o)
    return out
  }

  private room(used: number, more: number): void {
    if (used + more <= this.scratch.length) return
    const next = Buffer.allocUnsafeSlow(Math.max(this.scratch.length * 2, used + more))
    this.scratch.copy(next, 0, 0, used)
    this.scratch = next
  }
}

/** the builder every array is written with (one at a time) */
export const textArrays = new TextArrayBuilder()

/** the binary text[] of `n` elements, the i-th from `at(i)` */
export const textArrayOf = (n: number, at: (i: number) => Text): Buffer => {
  textArrays.start(n)
  for (let i = 0; i < n; i++) textArrays.text(at(i))
  return textArrays.finish(n)
}

/** the binary text[] of a column of text values */
export const textArray = (values: ReadonlyArray<string | null | undefined>): Buffer =>
  textArrayOf(values.length, (i) => values[i])
