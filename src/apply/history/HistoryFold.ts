/**
 * Folds an ordered batch for one history table into versions to open and versions to close, replaying the
 * changes key by key in memory so that the SQL can apply each set in one statement:
 * - INSERT opens a version (start = commit time, or FIRST_LOAD_START with kuvasz's sentinel option; end =
 *   OPEN_END), closing a stale open version of its key if
 *   any (left by a TRUNCATE or a copy overlap); UPDATE closes the open version of its old key (and of its new
 *   key, if any) at the commit time and opens one at the new key; DELETE closes the open version of its key
 *   with deleted = true. TRUNCATE is a no-op: history keeps every version.
 * - A version opened and closed inside the batch is written closed; the chain of one key is exact (same
 *   commit time: start = end). Unchanged-TOAST values come from the previous version in the batch, else
 *   from the stored version the key's first close closes (`carry`).
 * - Each key's first close targets the open version stored before the batch (position below the change's);
 *   every later close targets one version of this batch by its exact position, so that replaying a batch
 *   whose prefix was already applied closes what that prefix left open.
 * Positions encode (commit LSN, seq) in one sortable value. Keyless tables accept inserts only: without a
 * business key no stored version can be told apart from an identical one, and a replayed close would end
 * the wrong one.
 */
import { project } from "../clone/FoldCells.js"
import { DELETE, INSERT, type Change, type RowChange, type Tuple } from "../../domain/Change.js"
import { qualifiedName } from "../../domain/Relation.js"
import { encodeCells, type Cells } from "../clone/ApplyPlan.js"
import {
  FIRST_LOAD_START,
  historyMap,
  HistoryTargetError,
  OPEN_END,
  type HistoryMap,
  type HistoryTarget,
  type PositionType
} from "./HistoryTarget.js"

export interface Close {
  /** the key of the version to close (key positions only are meaningful) */
  readonly key: Cells
  /** the position of this batch's version to close; null: the stored open version positioned below `before` */
  readonly at: string | null
  readonly before: string
  readonly end: string
  readonly deleted: boolean
  /** the first close of an update's old key or a delete's key: counted as missed when nothing is open */
  readonly expected: boolean
}

export interface Version {
  /** values by destination position; undefined = carried over from the version `carry` closes (else NULL) */
  readonly cells: Cells
  readonly position: string
  readonly start: string
  end: string
  deleted: boolean
  carry: Close | null
}

/** versions and closes of consecutive changes with the same columns and business key */
export interface HistorySegment {
  readonly map: HistoryMap
  readonly versions: Array<Version>
  readonly closes: Array<Close>
}

export interface HistoryPlan {
  readonly segments: ReadonlyArray<HistorySegment>
  /** truncates and repeated changes */
  readonly skipped: number
}

const pad = (n: bigint, width: number) => n.toString(16).toUpperCase().padStart(width, "0")

/** numeric: lsn * 2^32 + seq; text: "XXXXXXXX/XXXXXXXX/SSSSSSSS" (ordered under COLLATE "C") */
export const encodePosition = (type: PositionType, lsn: bigint, seq: number): string =>
  type === "numeric"
    ? ((lsn << 32n) + BigInt(seq)).toString()
    : `${pad(lsn >> 32n, 8)}/${pad(lsn & 0xffffffffn, 8)}/${pad(BigInt(seq), 8)}`

/** the exact timestamptz text of a time in microseconds since the Unix epoch */
export const formatTime = (us: bigint): string => {
  let seconds = us / 1_000_000n
  let micros = us % 1_000_000n
  if (micros < 0n) {
    seconds -= 1n
    micros += 1_000_000n
  }
  const date = new Date(Number(seconds) * 1000).toISOString()
  return `${date.slice(0, 10)} ${date.slice(11, 19)}.${micros.toString().padStart(6, "0")}+00`
}

const tupleOf = (c: RowChange, tuple: Tuple | null, what: string): Tuple =>
  tuple ??
  ((): never => {
    throw new HistoryTargetError(`walferry: table ${qualifiedName(c.relation)}: change without ${what} tuple`)
  })()

/** what an opened version inherits: a version of this batch, or the stored version a close closes */
interface Origin {
  readonly cells: Cells | null
  readonly carry: Close | null
}

const NO_ORIGIN: Origin = { cells: null, carry: null }

class Segment implements HistorySegment {
  readonly versions: Array<Version> = []
  readonly closes: Array<Close> = []
  /** per key seen: its version open in this batch, or null */
  private readonly keys = new Map<string, Version | null>()

  constructor(readonly map: HistoryMap) {}

  close(key: Cells, before: string, end: string, deleted: boolean, expected: boolean): Origin {
    const k = encodeCells(key, this.map.key)
    const open = this.keys.get(k)
    this.keys.set(k, null)
    if (open === undefined) {
      const close: Close = { key, at: null, before, end, deleted, expected }
      this.closes.push(close)
      return { cells: null, carry: close }
    }
    if (open === null) return NO_ORIGIN
    open.end = end
    open.deleted = deleted
    this.closes.push({ key: open.cells, at: open.position, before, end, deleted, expected: false })
    return open
  }

  open(cells: Cells, position: string, start: string, origin: Origin): void {
    let missing = false
    for (const p of this.map.mapped) {
      if (cells[p] === undefined && origin.cells !== null) cells[p] = origin.cells[p]
      if (cells[p] === undefined) missing = true
    }
    const version: Version = {
      cells,
      position,
      start,
      end: OPEN_END,
      deleted: false,
      carry: missing ? origin.carry : null
    }
    this.versions.push(version)
    if (this.map.key.length > 0) this.keys.set(encodeCells(cells, this.map.key), version)
  }
}

const keyless = (map: HistoryMap, c: RowChange): never => {
  throw new HistoryTargetError(
    `walferry: table ${qualifiedName(map.target)}: history mode cannot apply an update or delete from ` +
      `${qualifiedName(c.relation)}: no business key (the source has no replica identity key and no column of the ` +
      `destination primary key is fed by the source); give the destination a primary key over the source key columns`
  )
}

/** `map` projects the change's relation; segment maps share its columns and key */
const apply = (seg: Segment, map: HistoryMap, c: RowChange, position: string, time: string): void => {
  if (c.op === INSERT) {
    const cells = project(map, c.sid, tupleOf(c, c.newTuple, "new"), null)
    if (map.key.length > 0) seg.close(cells, position, time, false, false)
    return seg.open(cells, position, map.target.sentinelStart ? FIRST_LOAD_START : time, NO_ORIGIN)
  }
  if (map.key.length === 0) keyless(map, c)
  if (c.op === DELETE) {
    seg.close(project(map, c.sid, tupleOf(c, c.oldTuple, "old"), null), position, time, true, true)
    return
  }
  const cells = project(map, c.sid, tupleOf(c, c.newTuple, "new"), c.oldKind === "O" ? c.oldTuple : null)
  const old = c.oldTuple === null ? cells : project(map, c.sid, c.oldTuple, null)
  for (const p of map.key) if (cells[p] === undefined) cells[p] = old[p]
  const origin = seg.close(old, position, time, false, true)
  if (encodeCells(old, map.key) !== encodeCells(cells, map.key)) seg.close(cells, position, time, false, false)
  seg.open(cells, position, time, origin)
}

/** the plan for one history table */
export const foldHistory = (target: HistoryTarget, batch: ReadonlyArray<Change>): HistoryPlan => {
  const segments: Array<Segment> = []
  const seen = new Set<string>()
  let seg: Segment | null = null
  let skipped = 0
  for (const c of batch) {
    const id = `${c.source}\u0000${c.lsn}\u0000${c.seq}`
    if (c._tag === "Truncate" || seen.has(id)) {
      skipped++
      continue
    }
    seen.add(id)
    const map = historyMap(target, c.relation)
    if (seg === null || seg.map.signature !== map.signature) segments.push((seg = new Segment(map)))
    apply(seg, map, c, encodePosition(target.positionType, c.lsn, c.seq), formatTime(c.commitTimeUs))
  }
  return { segments, skipped }
}
