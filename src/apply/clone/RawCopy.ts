/**
 * The bulk path for inserts that arrived as bytes (RawInsert): COPY text written straight from pgoutput's
 * TupleData, without decoding a value, building a row array or folding. pgoutput text values and COPY text
 * fields are the same text; only backslash, tab, newline and carriage return need escaping, byte by byte
 * (UTF-8 continuation bytes never equal them). Columns go in source order, `sid` last; source columns the
 * target lacks are skipped.
 *
 * Taken only for a batch of raw inserts of one relation that a COPY may take whole: in a run of nothing but
 * inserts of one source no key repeats, and a key that exists anyway (another source without sid, rows
 * written by hand) fails the COPY, which CopyInsert turns into a retry through the folded upsert.
 */
import type pg from "pg"
import type { Change } from "../../domain/Change.js"
import { RawInsert } from "../../domain/RawInsert.js"
import { VALUE_TEXT } from "../../decode/RawTuple.js"
import * as ApplySql from "./ApplySql.js"
import type { TargetSql } from "./ApplySql.js"
import type { ApplyTarget } from "../ApplyTarget.js"
import type { ApplyStats } from "./CloneApply.js"
import { FROM_SID, type ColumnMap } from "../ColumnMap.js"
import { rawInsertMap } from "./RowArrays.js"
import { copyField, copyThrough, copyWanted, CopyConflict } from "./CopyInsert.js"
import type { Extend } from "../../sink/Sink.js"
import { applyError } from "../../sink/SqlState.js"

const PIECE = 64 << 10
const BACKSLASH = 0x5c
const TAB = 0x09
const NL = 0x0a
const CR = 0x0d

export interface RawLayout {
  /** the COPY column list */
  readonly names: string
  /** per source column: 1 when the target has it */
  readonly keep: Uint8Array
  readonly withSid: boolean
}

const layouts = new WeakMap<ColumnMap, RawLayout>()

export const rawLayout = (map: ColumnMap, t: TargetSql): RawLayout => {
  let layout = layouts.get(map)
  if (layout !== undefined) return layout
  const width = map.relation.columns.length
  const keep = new Uint8Array(width)
  const names: Array<string> = []
  for (let s = 0; s < width; s++) {
    const p = map.sourceOf.indexOf(s)
    if (p >= 0) {
      keep[s] = 1
      names.push(t.names[p]!)
    }
  }
  const withSid = map.sidPosition >= 0 && map.sourceOf[map.sidPosition] === FROM_SID
  if (withSid) names.push(t.names[map.sidPosition]!)
  layouts.set(map, (layout = { names: names.join(", "), keep, withSid }))
  return layout
}

const sidFields = new Map<string, Buffer>()
const sidField = (sid: string): Buffer => {
  let b = sidFields.get(sid)
  if (b === undefined) sidFields.set(sid, (b = Buffer.from(copyField(sid), "utf8")))
  return b
}

/** per byte: 0 when COPY text takes it as it is, else the letter that follows the backslash escaping it */
const ESCAPE = new Uint8Array(256)
ESCAPE[BACKSLASH] = BACKSLASH
ESCAPE[TAB] = 0x74
ESCAPE[NL] = 0x6e
ESCAPE[CR] = 0x72

/**
 * writes the COPY line of the TupleData at buf[p] into out[o] and returns the end; out has room for it.
 * A plain function with a table lookup per byte: it stays optimized whatever the data holds.
 */
const writeLine = (out: Buffer, o: number, buf: Buffer, p: number, keep: Uint8Array, sid: Buffer | undefined) => {
  const n = (buf[p]! << 8) | buf[p + 1]!
  p += 2
  let first = true
  for (let i = 0; i < n; i++) {
    const kind = buf[p++]!
    if (kind === VALUE_TEXT) {
      const len = ((buf[p]! << 24) | (buf[p + 1]! << 16) | (buf[p + 2]! << 8) | buf[p + 3]!) >>> 0
      p += 4
      if (keep[i] === 1) {
        if (first) first = false
        else out[o++] = TAB
        for (let k = p, e = p + len; k < e; k++) {
          const b = buf[k]!
          const x = ESCAPE[b]!
          if (x === 0) out[o++] = b
          else {
            out[o++] = BACKSLASH
            out[o++] = x
          }
        }
      }
      p += len
    } else if (keep[i] === 1) {
      if (first) first = false
      else out[o++] = TAB
      out[o++] = BACKSLASH
      out[o++] = 0x4e
    }
  }
  if (sid !== undefined) {
    if (!first) out[o++] = TAB
    o += sid.copy(out, o)
  }
  out[o++] = NL
  return o
}

/** COPY text lines of `rows`, in pieces of about PIECE bytes */
export function* rawCopyText(layout: RawLayout, rows: ReadonlyArray<RawInsert>): Generator<Buffer> {
  const { keep, withSid } = layout
  let out = Buffer.allocUnsafeSlow(PIECE)
  let o = 0
  for (let r = 0; r < rows.length; r++) {
    const row = rows[r]!
    const sid = withSid ? sidField(row.sid) : undefined
    // a value of L bytes takes 1 + 4 + L in TupleData and at most 1 + 2L here; a NULL 1 and 3
    const max = 3 * (row.end - row.start) + (sid === undefined ? 0 : sid.length + 1) + 1
    if (o + max > out.length) {
      if (o > 0) yield out.subarray(0, o)
      out = Buffer.allocUnsafeSlow(Math.max(PIECE, max))
      o = 0
    }
    o = writeLine(out, o, row.buf, row.start, keep, sid)
  }
  if (o > 0) yield out.subarray(0, o)
}

const copyRaw = (
  client: pg.ClientBase,
  t: TargetSql,
  layout: RawLayout,
  rows: ReadonlyArray<RawInsert>,
  more?: (max: number) => ReadonlyArray<RawInsert>
): Promise<number> => copyThrough(client, t, layout.names, rows, (r) => rawCopyText(layout, r), more)

/**
 * A batch of raw inserts of one relation (see RawCopy), COPYed from their bytes with the ones `extend`
 * brings; undefined when the batch is anything else or the table does not take a COPY now.
 */
export const rawCopier = (
  target: ApplyTarget,
  batch: ReadonlyArray<Change>,
  extend: Extend | undefined
): ((client: pg.ClientBase) => Promise<ApplyStats>) | undefined => {
  const first = batch[0]
  if (!(first instanceof RawInsert)) return undefined
  const relation = first.relation
  for (const c of batch) if (!(c instanceof RawInsert) || c.relation !== relation) return undefined
  const t = ApplySql.targetSql(target)
  const map = rawInsertMap(relation, target)
  if (map === undefined || !copyWanted(t, batch.length)) return undefined
  const accept = (c: Change) => c instanceof RawInsert && c.relation === relation
  const more = extend && ((max: number) => extend(accept, max) as ReadonlyArray<RawInsert>)
  return (client) =>
    copyRaw(client, t, rawLayout(map, t), batch as ReadonlyArray<RawInsert>, more).then(
      (n) => ({ statements: 1, written: n, copied: n, deleted: 0, truncates: 0, missed: 0, skipped: 0 }),
      (err: unknown) => {
        throw err instanceof CopyConflict ? err : applyError(err, target)
      }
    )
}
