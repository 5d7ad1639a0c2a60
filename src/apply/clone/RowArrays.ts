/**
 * Binary text[] parameters (one per written destination column) written straight from pgoutput's TupleData
 * where a row still has its bytes: an element of a binary text[] is a length and the value's UTF-8 bytes,
 * which is what TupleData holds, so such a row's values never become strings, the row never becomes an
 * array, and nothing is re-encoded. Rows the fold already built as cells are written from their strings.
 *
 * Used for raw inserts too few for a COPY (one statement of a live stream's insert batch) and for the
 * complete updates that survive a fold unprojected (BatchFold). Raw inserts are taken only as a batch of one
 * relation and one source that the folded path would write as one step: every row complete and, on a keyed
 * table, every key distinct.
 */
import type { Change } from "../../domain/Change.js"
import { RawInsert } from "../../domain/RawInsert.js"
import type { RawRow } from "../../domain/RawRow.js"
import { VALUE_TEXT } from "../../decode/RawTuple.js"
import { columnMap, FROM_SID, type ColumnMap } from "../ColumnMap.js"
import type { ApplyTarget } from "../ApplyTarget.js"
import type { Relation } from "../../domain/Relation.js"
import { applyError } from "../../sink/SqlState.js"
import type { Cells } from "./ApplyPlan.js"
import { textArrays } from "../TextArray.js"

const NULL = -1
const SID = -2

/** a row of a step: its cells, or a raw insert or raw complete update still holding its bytes */
export type StepRow = Cells | RawInsert | RawRow

/** the batch as raw inserts of one relation and one source, or undefined */
export const rawInsertsOf = (batch: ReadonlyArray<Change>): ReadonlyArray<RawInsert> | undefined => {
  const first = batch[0]
  if (!(first instanceof RawInsert)) return undefined
  for (const c of batch) {
    if (!(c instanceof RawInsert) || c.relation !== first.relation || c.of.source !== first.of.source) return undefined
  }
  return batch as ReadonlyArray<RawInsert>
}

/**
 * the column map raw inserts of `relation` are written through as they come (RawCopy, rawInsertWrite): any
 * map but a keyed one whose conflict target is not the key (those need the fold's distinct-key runs)
 */
export const rawInsertMap = (relation: Relation, target: ApplyTarget): ColumnMap | undefined => {
  let map: ColumnMap
  try {
    map = columnMap(relation, target)
  } catch (err) {
    throw applyError(err, target)
  }
  return map.mode === "keyed" && !map.conflictIsKey ? undefined : map
}

interface Params {
  readonly columns: ReadonlyArray<number>
  /** per source column: the parameter it fills, or -1 */
  readonly paramOf: Int32Array
  readonly sidParam: number
}

const paramsCache = new WeakMap<ColumnMap, Params>()

const same = (a: ReadonlyArray<number>, b: ReadonlyArray<number>): boolean => {
  if (a === b) return true
  if (a.length !== b.length) return false
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** partitions of one table have maps of their own with the same written columns: compared, not rebuilt */
const paramsOf = (map: ColumnMap, columns: ReadonlyArray<number>): Params => {
  const cached = paramsCache.get(map)
  if (cached !== undefined && same(cached.columns, columns)) return cached
  const paramOf = new Int32Array(map.relation.columns.length).fill(-1)
  let sidParam = -1
  columns.forEach((p, j) => {
    const s = map.sourceOf[p]!
    if (s >= 0) paramOf[s] = j
    else if (s === FROM_SID) sidParam = j
  })
  const params = { columns, paramOf, sidParam }
  paramsCache.set(map, params)
  return params
}

/** per raw row and parameter: where its value starts (at [i]) and its length or NULL / SID (at [L + i]) */
let where = new Int32Array(8192)

const u32 = (buf: Buffer, p: number): number =>
  ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0

/**
 * per written column (`columns`, destination positions), the binary text[] of that column's values in `rows`;
 * `mapOf(i)`: the column map of raw row i (its relation's). A value a raw tuple does not carry is NULL, as
 * it is in the cells the folded path would build.
 */
export const rowArrays = (
  columns: ReadonlyArray<number>,
  rows: ReadonlyArray<StepRow>,
  mapOf: (i: number) => ColumnMap
): Array<Buffer> => {
  const k = columns.length
  const n = rows.length
  const L = n * k
  if (2 * L > where.length) where = new Int32Array(Math.max(2 * L, 2 * where.length))
  const at = where
  const len = where
  let lastMap: ColumnMap | undefined
  let params: Params | undefined
  for (let r = 0; r < n; r++) {
    const row = rows[r]!
    if (Array.isArray(row)) continue
    const raw = row as RawInsert | RawRow
    const map = mapOf(r)
    if (map !== lastMap) {
      params = paramsOf(map, columns)
      lastMap = map
    }
    const { paramOf, sidParam } = params!
    const base = r * k
    len.fill(NULL, L + base, L + base + k)
    if (sidParam >= 0) len[L + base + sidParam] = SID
    const buf = raw.buf
    let p = raw instanceof RawInsert ? raw.start : raw.newStart
    const count = (buf[p]! << 8) | buf[p + 1]!
    p += 2
    for (let i = 0; i < count; i++) {
      if (buf[p++] !== VALUE_TEXT) continue
      const l = u32(buf, p)
      p += 4
      const j = i < paramOf.length ? paramOf[i]! : -1
      if (j >= 0) {
        at[base + j] = p
        len[L + base + j] = l
      }
      p += l
    }
  }
  const arrays = new Array<Buffer>(k)
  for (let j = 0; j < k; j++) {
    const position = columns[j]!
    textArrays.start(n)
    for (let r = 0; r < n; r++) {
      const row = rows[r]!
      if (Array.isArray(row)) {
        textArrays.text((row as Cells)[position])
        continue
      }
      const l = len[L + r * k + j]!
      if (l >= 0) textArrays.bytes((row as RawInsert | RawRow).buf, at[r * k + j]!, l)
      else textArrays.text(l === SID ? (row as RawInsert | RawRow).sid : null)
    }
    arrays[j] = textArrays.finish(n)
  }
  return arrays
}

/** per written destination column (map.mapped order), the binary text[] of that column's values in `rows` */
export const rawInsertArrays = (map: ColumnMap, rows: ReadonlyArray<RawInsert>): Array<Buffer> =>
  rowArrays(map.mapped, rows, () => map)
