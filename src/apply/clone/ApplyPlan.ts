/**
 * The output of BatchFold: an ordered list of set-based steps for one destination table. Rows are Cells,
 * text values by destination column position, so rows from relations of different sources can share a step.
 */
import type { RowOp } from "../../domain/Change.js"
import type { ColumnMap } from "../ColumnMap.js"

/** values by destination column position; undefined = not written (not fed by the source, or unchanged TOAST) */
export type Cells = Array<string | null | undefined>

export type FoldMode = "clone" | "append"

export interface MoveRow {
  /** the key values before the change (key positions only are meaningful) */
  readonly old: Cells
  readonly cells: Cells
}

export interface FullRowChange {
  readonly op: RowOp
  /** old image (update, delete) */
  readonly old: Cells | null
  /** new image (insert, update) */
  readonly cells: Cells | null
}

interface WriteRows {
  readonly _tag: "Write"
  readonly map: ColumnMap
  readonly columns: ReadonlyArray<number>
  /** every row's cells: a fold's complete step builds those of its unprojected survivors on first read */
  readonly rows: ReadonlyArray<Cells>
  /** rows.length, without building them */
  readonly count: number
}

/** upsert of complete rows */
export interface CompleteWriteStep extends WriteRows {
  readonly complete: true
  /** one binary text[] per column of `columns` (RowArrays): rows still holding their bytes are written from them */
  readonly arrays: () => Array<Buffer>
}

/** update-else-insert of partial rows (unchanged-TOAST gaps) whose `columns` are all present */
export interface PartialWriteStep extends WriteRows {
  readonly complete: false
}

export type WriteStep = CompleteWriteStep | PartialWriteStep

/** delete by key; only the key positions of each row are meaningful */
export interface DeleteStep {
  readonly _tag: "Delete"
  readonly map: ColumnMap
  readonly rows: ReadonlyArray<Cells>
}

export interface MoveStep {
  readonly _tag: "Move"
  readonly map: ColumnMap
  readonly columns: ReadonlyArray<number>
  readonly rows: ReadonlyArray<MoveRow>
}

export interface FullRowStep {
  readonly _tag: "FullRow"
  readonly map: ColumnMap
  readonly rows: ReadonlyArray<FullRowChange>
}

/** the whole table (sid null) or the rows of one sid */
export interface TruncateStep {
  readonly _tag: "Truncate"
  readonly sid: string | null
}

export type Step = WriteStep | DeleteStep | MoveStep | FullRowStep | TruncateStep

export interface Plan {
  readonly steps: ReadonlyArray<Step>
  /** changes dropped by the mode (append: deletes and truncates) */
  readonly skipped: number
}

/** an injective string for the values at `positions` (Postgres text never contains NUL) */
export const encodeCells = (cells: Cells, positions: ReadonlyArray<number>): string => {
  let s = ""
  for (const p of positions) {
    const v = cells[p]
    s += v === null ? "\u0000n" : v === undefined ? "\u0000u" : "\u0000v" + v
  }
  return s
}
