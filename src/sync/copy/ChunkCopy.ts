/**
 * Copies one chunk: the source's `COPY (select …) TO STDOUT` piped into the destination's `COPY … FROM
 * STDIN`, block by block (rows are never materialised), through the rate-limit throttle and a counter;
 * in binary format when both sides have the same built-in column types, else in text (always for a table
 * with CEL expressions, whose rows go through CelRows).
 * Runs inside the caller's destination transaction. Landing:
 * - `copy`: straight into the target (it holds no row of the chunk: cleared, or not yet streamed into);
 * - `upsert`: into a temporary stage, then `insert … on conflict (key) do update` into the target, so rows
 *   already there (kept by upsert-copy, or written meanwhile by the stream) are overwritten, never violated;
 * - `reconcile` (history): into a temporary stage merged into the versions already there (HistoryReconcile);
 *   straight into the target when this slice of it holds no version yet (a first load).
 */
import { Transform, type TransformCallback } from "node:stream"
import { pipeline } from "node:stream/promises"
import type pg from "pg"
import { from as copyFrom, to as copyTo } from "pg-copy-streams"
import { quoteIdent } from "../../lib/Sql.js"
import { CelRows } from "./CelCopy.js"
import { binaryRows, textRows, type RowCounter } from "./CopyRows.js"
import { reconcileStage, type Reconciled } from "../HistoryReconcile.js"
import type { SyncTable } from "../SyncTable.js"
import { copyInSql, copyOutSql, upsertFromSql } from "../SyncSql.js"
import type { Throttle } from "../SyncThrottle.js"

export type Landing = "copy" | "upsert" | "reconcile"

/** rows (counted per block only under a rows/s limit, exact at the end) and bytes that went through */
export interface CopyCounter {
  rows: number
  bytes: number
}

export interface ChunkCopyRequest {
  readonly src: pg.ClientBase
  readonly dst: pg.ClientBase
  readonly table: SyncTable
  /** ` where …` of the chunk, "" for the whole table */
  readonly where: string
  readonly landing: Landing
  readonly throttle: Throttle
  readonly live: CopyCounter
  /** reconcile: the source id of the slice and the snapshot time (timestamptz text) */
  readonly slice?: { readonly sid: string; readonly at: string }
}

export interface Copied extends CopyCounter {
  /** what a reconcile changed; undefined when the rows were copied as they are */
  readonly reconciled?: Reconciled
}

const STAGE = "walferry_stage"

/** passes blocks on once the throttle allows; counts rows per block only when a rows/s limit needs it */
class Metered extends Transform {
  bytes = 0
  constructor(
    private readonly counter: RowCounter | undefined,
    private readonly throttle: Throttle,
    private readonly live: CopyCounter
  ) {
    super()
  }

  override _transform(block: Buffer, _enc: BufferEncoding, done: TransformCallback): void {
    const rows = this.counter?.push(block) ?? 0
    const pass = () => {
      this.bytes += block.length
      this.live.rows += rows
      this.live.bytes += block.length
      done(null, block)
    }
    if (!this.throttle.limited) return pass()
    this.throttle.take(rows, block.length).then(pass, (e: unknown) => done(e as Error))
  }
}

/** true when the target (or this sid's slice) holds no row */
const emptySlice = async (dst: pg.ClientBase, t: SyncTable, sid: string) => {
  const { rows } = t.hasSid
    ? await dst.query(`select 1 from ${t.destSql} where sid = $1 limit 1`, [sid])
    : await dst.query(`select 1 from ${t.destSql} limit 1`)
  return rows.length === 0
}

/** copies the chunk; returns the rows and bytes read from the source */
export const copyChunk = async (req: ChunkCopyRequest): Promise<Copied> => {
  const { table: t, dst } = req
  let into = t.destSql
  const merge =
    req.landing === "reconcile" && t.reconcile !== undefined && req.slice !== undefined
      ? (await emptySlice(dst, t, req.slice.sid))
        ? undefined
        : { spec: t.reconcile, ...req.slice }
      : undefined
  // an append target's empty slice takes the rows as they are
  const upsert =
    req.landing === "upsert" && !(t.mapping.mode === "append" && (await emptySlice(dst, t, req.slice?.sid ?? "")))
  if (merge) {
    const cols = t.into.map(quoteIdent).join(", ")
    await dst.query(`create temp table ${STAGE} on commit drop as select ${cols} from ${t.destSql} limit 0`)
    into = STAGE
  } else if (upsert) {
    if (t.conflict.length === 0) {
      throw new Error(
        `destination table ${t.destSql} has no primary key or unique key on the copied columns: an upsert-copy or ` +
          "a copy while streaming needs one"
      )
    }
    const cols = t.into.map(quoteIdent).join(", ")
    await dst.query(`create temp table ${STAGE} on commit drop as select ${cols} from ${t.destSql} limit 0`)
    into = STAGE
  }
  const counter = req.throttle.countsRows ? (t.binary ? binaryRows() : textRows()) : undefined
  const meter = new Metered(counter, req.throttle, req.live)
  const reader = req.src.query(copyTo(copyOutSql(t, req.where)))
  const writer = dst.query(copyFrom(copyInSql(into, t)))
  if (t.cel === undefined) await pipeline(reader, meter, writer)
  else await pipeline(reader, new CelRows(t.cel), meter, writer)
  if (upsert) await dst.query(upsertFromSql(STAGE, t))
  req.live.rows = writer.rowCount
  if (!merge) return { rows: writer.rowCount, bytes: meter.bytes }
  const reconciled = await reconcileStage(dst, merge.spec, STAGE, merge.sid, merge.at)
  return { rows: writer.rowCount, bytes: meter.bytes, reconciled }
}
