/**
 * Inserts that arrived as bytes (RawInsert), too few for a COPY, as the binary text[] parameters of one
 * multi-row INSERT, written straight from pgoutput's TupleData: an element of a binary text[] is a length and
 * the value's UTF-8 bytes, which is what TupleData holds, so no value becomes a string, no row becomes an
 * array, and nothing is re-encoded (the small batches of a live stream into an insert-mostly table).
 *
 * One parameter per written destination column (ColumnMap.mapped, in its order), as ApplySql's insert and
 * upsert expect: a source value where the column has one, the row's sid for the sid column. Taken only for a
 * batch of raw inserts of one relation that the folded path would write as one step: every row complete
 * and, on a keyed table, every key distinct (one source, and the relation's key is the conflict target).
 */
import type { Change } from "../../domain/Change.js"
import { RawInsert } from "../../domain/RawInsert.js"
import { VALUE_TEXT } from "../../decode/RawTuple.js"
import { FROM_SID, type ColumnMap } from "../ColumnMap.js"

const TEXT_OID = 25
const HEADER = 20

/** the batch as raw inserts of one relation and one source, or undefined */
export const rawInsertsOf = (batch: ReadonlyArray<Change>): ReadonlyArray<RawInsert> | undefined => {
  const first = batch[0]
  if (!(first instanceof RawInsert)) return undefined
  for (const c of batch) {
    if (!(c instanceof RawInsert) || c.relation !== first.relation || c.of.source !== first.of.source) return undefined
  }
  return batch as ReadonlyArray<RawInsert>
}

const sidBytes = new Map<string, Buffer>()
const sidOf = (sid: string): Buffer => {
  let b = sidBytes.get(sid)
  if (b === undefined) sidBytes.set(sid, (b = Buffer.from(sid, "utf8")))
  return b
}

const u32 = (buf: Buffer, p: number): number =>
  ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0

/** per written destination column (map.mapped order), the binary text[] of that column's values in `rows` */
export const rawInsertArrays = (map: ColumnMap, rows: ReadonlyArray<RawInsert>): Array<Buffer> => {
  const width = map.relation.columns.length
  const columns = map.mapped.length
  /** per source column: the parameter it fills, or -1 */
  const paramOf = new Int32Array(width).fill(-1)
  let sidParam = -1
  map.mapped.forEach((p, j) => {
    const s = map.sourceOf[p]!
    if (s >= 0) paramOf[s] = j
    else if (s === FROM_SID) sidParam = j
  })
  const n = rows.length
  const sizes = new Array<number>(columns).fill(HEADER + 4 * n)
  for (const row of rows) {
    const buf = row.buf
    let p = row.start
    const count = (buf[p]! << 8) | buf[p + 1]!
    p += 2
    for (let i = 0; i < count; i++) {
      if (buf[p++] !== VALUE_TEXT) continue
      const len = u32(buf, p)
      p += 4 + len
      const j = i < width ? paramOf[i]! : -1
      if (j >= 0) sizes[j] += len
    }
    if (sidParam >= 0) sizes[sidParam] += sidOf(row.of.sid).length
  }
  const out = Buffer.allocUnsafe(sizes.reduce((a, b) => a + b, 0))
  const at = new Array<number>(columns)
  const nulls = new Uint8Array(columns)
  for (let j = 0, o = 0; j < columns; j++) {
    at[j] = o + HEADER
    o += sizes[j]!
  }
  const written = new Uint8Array(columns)
  for (const row of rows) {
    written.fill(0)
    const buf = row.buf
    let p = row.start
    const count = (buf[p]! << 8) | buf[p + 1]!
    p += 2
    for (let i = 0; i < count; i++) {
      const kind = buf[p++]
      const j = i < width ? paramOf[i]! : -1
      if (kind !== VALUE_TEXT) {
        if (j >= 0) {
          out.writeInt32BE(-1, at[j]!)
          at[j]! += 4
          nulls[j] = 1
          written[j] = 1
        }
        continue
      }
      const len = u32(buf, p)
      p += 4
      if (j >= 0) {
        out.writeInt32BE(len, at[j]!)
        buf.copy(out, at[j]! + 4, p, p + len)
        at[j]! += 4 + len
        written[j] = 1
      }
      p += len
    }
    if (sidParam >= 0) {
      const sid = sidOf(row.of.sid)
      out.writeInt32BE(sid.length, at[sidParam]!)
      sid.copy(out, at[sidParam]! + 4)
      at[sidParam]! += 4 + sid.length
      written[sidParam] = 1
    }
    // a column the tuple does not carry is NULL, as a missing value in the folded path
    for (let j = 0; j < columns; j++) {
      if (written[j] === 1) continue
      out.writeInt32BE(-1, at[j]!)
      at[j]! += 4
      nulls[j] = 1
    }
  }
  const arrays = new Array<Buffer>(columns)
  for (let j = 0, o = 0; j < columns; j++) {
    const size = sizes[j]!
    out.writeInt32BE(1, o)
    out.writeInt32BE(nulls[j]!, o + 4)
    out.writeInt32BE(TEXT_OID, o + 8)
    out.writeInt32BE(n, o + 12)
    out.writeInt32BE(1, o + 16)
    arrays[j] = out.subarray(o, o + size)
    o += size
  }
  return arrays
}
