/**
 * The cells of a destination row as the fold builds them: projection of a source tuple through a column
 * map, the slot key of a row, and the key of an update read from its bytes without decoding the row.
 */
import { UPDATE, type RowChange, type Tuple } from "../../domain/Change.js"
import { RawRow } from "../../domain/RawRow.js"
import { qualifiedName } from "../../domain/Relation.js"
import { FROM_SID, type ColumnMap } from "../ColumnMap.js"
import { encodeCells, type Cells } from "./ApplyPlan.js"

/** the key of an update that keeps its key and has every value (no unchanged TOAST), read from its bytes */
export const deferredKey = (map: ColumnMap, c: RowChange): SlotKey | null => {
  if (!(c instanceof RawRow) || c.op !== UPDATE || c.oldStart >= 0 || !c.plain || map.key.length !== 1) return null
  const s = map.sourceOf[map.key[0]!]!
  const key = s >= 0 ? c.newValue(s) : s === FROM_SID ? c.sid : undefined
  return key === undefined ? null : key
}

/** a Map key for the values at `positions`: the value itself for a one-column key (no string to build per change) */
export type SlotKey = string | null | undefined

export const slotKey = (cells: Cells, positions: ReadonlyArray<number>): SlotKey =>
  positions.length === 1 ? cells[positions[0]!] : encodeCells(cells, positions)

/** the destination cells of a source tuple (`fill` supplies unchanged-TOAST values); clone and history maps alike */
export const project = (
  map: { readonly sourceOf: ArrayLike<number> },
  sid: string,
  tuple: Tuple,
  fill: Tuple | null
): Cells => {
  const { sourceOf } = map
  const cells: Cells = new Array(sourceOf.length)
  for (let p = 0; p < sourceOf.length; p++) {
    const s = sourceOf[p]!
    if (s >= 0) cells[p] = tuple[s] === undefined && fill !== null ? fill[s] : tuple[s]
    else cells[p] = s === FROM_SID ? sid : undefined
  }
  return cells
}

/** the destination row of an insert (CopyInsert's extension of a batch by more inserts) */
export const insertCells = (map: ColumnMap, c: RowChange): Cells =>
  project(map, c.sid, tupleOf(c, c.newTuple, "new"), null)

export const fillFrom = (map: ColumnMap, cells: Cells, from: Cells): void => {
  for (const p of map.mapped) if (cells[p] === undefined) cells[p] = from[p]
}

export const isComplete = (map: ColumnMap, cells: Cells): boolean => {
  for (const p of map.mapped) if (cells[p] === undefined) return false
  return true
}

export const present = (map: ColumnMap, cells: Cells): Array<number> => map.mapped.filter((p) => cells[p] !== undefined)

export const tupleOf = (c: RowChange, tuple: Tuple | null, what: string): Tuple => {
  if (tuple === null) throw new Error(`walferry: table ${qualifiedName(c.relation)}: change without ${what} tuple`)
  return tuple
}

export const missingKey = (c: RowChange): never => {
  throw new Error(`walferry: table ${qualifiedName(c.relation)}: update without its key values`)
}
