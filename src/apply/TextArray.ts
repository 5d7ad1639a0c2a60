/**
 * A one-dimensional text[] parameter in Postgres's binary array format (array_recv): node-postgres sends a
 * Buffer parameter in binary format as it is, so the server reads each element's bytes without parsing an
 * array literal, and the client neither quotes nor escapes them. Elements are written as UTF-8 text (text's
 * binary form); NULL and undefined (not written) are both SQL NULL, as in the text literal they replace.
 */

const TEXT_OID = 25
const HEADER = 20

let scratch = Buffer.allocUnsafeSlow(64 << 10)

const room = (used: number, more: number): void => {
  if (used + more <= scratch.length) return
  const next = Buffer.allocUnsafeSlow(Math.max(scratch.length * 2, used + more))
  scratch.copy(next, 0, 0, used)
  scratch = next
}

type Text = string | null | undefined

/** the binary text[] of `n` elements, the i-th from `at(i)` */
export const textArrayOf = (n: number, at: (i: number) => Text): Buffer => {
  room(0, HEADER + 4 * n)
  let nulls = 0
  let pos = HEADER
  for (let i = 0; i < n; i++) {
    const v = at(i)
    if (v === null || v === undefined) {
      room(pos, 4)
      scratch.writeInt32BE(-1, pos)
      pos += 4
      nulls = 1
    } else {
      room(pos, 4 + v.length * 3)
      const len = scratch.write(v, pos + 4, "utf8")
      scratch.writeInt32BE(len, pos)
      pos += 4 + len
    }
  }
  scratch.writeInt32BE(1, 0)
  scratch.writeInt32BE(nulls, 4)
  scratch.writeInt32BE(TEXT_OID, 8)
  scratch.writeInt32BE(n, 12)
  scratch.writeInt32BE(1, 16)
  const out = Buffer.allocUnsafe(pos)
  scratch.copy(out, 0, 0, pos)
  return out
}

/** the binary text[] of a column of text values */
export const textArray = (values: ReadonlyArray<string | null | undefined>): Buffer =>
  textArrayOf(values.length, (i) => values[i])
