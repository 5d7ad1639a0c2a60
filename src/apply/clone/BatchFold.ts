/**
 * Folds an ordered batch of changes for one destination table into a short ordered plan of set-based
 * steps with the same final effect.
 *
 * Keyed tables: each key (sid + key values) keeps one slot holding its final effect: a full row (upsert),
 * a partial row (unchanged-TOAST columns left untouched on the destination) or a delete. Distinct keys
 * commute, so a segment of slots flushes as one Delete step and one Write step per set of present columns.
 * A key change whose new row is complete becomes delete(old key) + full row(new key). One that still
 * lacks columns must move the destination row (Move step); moves run before the segment's slots, so a
 * move touching a key already pending, or already moved, flushes first.
 *
 * Full-row tables (REPLICA IDENTITY FULL without a usable key): no folding. Consecutive changes share a
 * FullRow step; each update/delete matches one destination row by its old image. A change whose old image
 * was produced earlier in the same step starts a new step, as statements see their own snapshot.
 *
 * TRUNCATE splits the plan; without a sid column it also makes every earlier step pointless.
 */
import { DELETE, INSERT, UPDATE, type Change, type RowChange } from "../../domain/Change.js"
import { RawRow } from "../../domain/RawRow.js"
import {
  encodeCells,
  type Cells,
  type FoldMode,
  type FullRowChange,
  type MoveRow,
  type Plan,
  type Step
} from "./ApplyPlan.js"
import type { StepRow } from "./RowArrays.js"
import { CompleteWrite } from "./WriteSteps.js"
import type { ApplyTarget } from "../ApplyTarget.js"
import { columnMap, type ColumnMap } from "../ColumnMap.js"
import {
  deferredKey,
  fillFrom,
  isComplete,
  missingKey,
  present,
  project,
  slotKey,
  tupleOf,
  type SlotKey
} from "./FoldCells.js"

const FULL = 0
const PARTIAL = 1
const GONE = 2

/**
 * cells null: a complete update not projected yet (`change` under `map`): a later change of the key may
 * replace it, so its values are built only if it survives the fold (RawRow keeps them as bytes until then)
 */
interface Slot {
  state: typeof FULL | typeof PARTIAL | typeof GONE
  cells: Cells | null
  change: RawRow | null
  map: ColumnMap | null
}

const cellsOf = (slot: Slot): Cells => {
  if (slot.cells === null) {
    const c = slot.change!
    slot.cells = project(slot.map!, c.sid, c.newTuple!, null)
    slot.change = null
    slot.map = null
  }
  return slot.cells
}

class Folder {
  readonly steps: Array<Step> = []
  private map: ColumnMap | null = null
  private readonly slots = new Map<SlotKey, Slot>()
  private moves: Array<MoveRow> = []
  private readonly moveKeys = new Set<SlotKey>()
  private run: Array<FullRowChange> = []
  private readonly produced = new Set<string>()

  constructor(private readonly target: ApplyTarget) {}

  use(map: ColumnMap): void {
    if (this.map !== null && this.map.signature !== map.signature) this.flush()
    this.map = map
  }

  truncate(sid: string): void {
    if (this.target.hasSid) {
      this.flush()
      this.steps.push({ _tag: "Truncate", sid })
    } else {
      this.slots.clear()
      this.moves = []
      this.moveKeys.clear()
      this.run = []
      this.produced.clear()
      this.steps.length = 0
      this.steps.push({ _tag: "Truncate", sid: null })
    }
  }

  keyed(map: ColumnMap, c: RowChange): void {
    if (c.op === INSERT) {
      const cells = project(map, c.sid, tupleOf(c, c.newTuple, "new"), null)
      return this.put(slotKey(cells, map.key), FULL, cells)
    }
    if (c.op === DELETE) {
      const old = project(map, c.sid, tupleOf(c, c.oldTuple, "old"), null)
      return this.put(slotKey(old, map.key), GONE, old)
    }
    const deferred = deferredKey(map, c)
    if (deferred !== null) return this.defer(map, deferred, c as RawRow)
    const cells = project(map, c.sid, tupleOf(c, c.newTuple, "new"), c.oldKind === "O" ? c.oldTuple : null)
    const old = c.oldTuple === null ? null : project(map, c.sid, c.oldTuple, null)
    // an unchanged TOASTed key value comes only in the old key tuple
    for (const p of map.key) if (cells[p] === undefined && (cells[p] = old?.[p]) === undefined) missingKey(c)
    const key = slotKey(cells, map.key)
    const oldKey = old === null ? key : slotKey(old, map.key)
    if (oldKey === key) return this.update(map, key, cells)
    const prior = this.slots.get(oldKey)
    if (prior !== undefined && prior.state !== GONE) fillFrom(map, cells, cellsOf(prior))
    if (isComplete(map, cells)) {
      this.put(oldKey, GONE, old!)
      return this.put(key, FULL, cells)
    }
    const pending = (k: SlotKey) => this.slots.has(k) || this.moveKeys.has(k)
    if (pending(oldKey) || pending(key)) this.flushKeyed()
    this.moves.push({ old: old!, cells })
    this.moveKeys.add(oldKey)
    this.moveKeys.add(key)
  }

  fullRow(map: ColumnMap, c: RowChange): void {
    if (c.op === INSERT) {
      const cells = project(map, c.sid, tupleOf(c, c.newTuple, "new"), null)
      this.run.push({ op: INSERT, old: null, cells })
      this.produced.add(encodeCells(cells, map.mapped))
      return
    }
    const oldTuple = tupleOf(c, c.oldKind === "O" ? c.oldTuple : null, "full old")
    const old = project(map, c.sid, oldTuple, null)
    const cells = c.op === UPDATE ? project(map, c.sid, tupleOf(c, c.newTuple, "new"), oldTuple) : null
    if (this.produced.has(encodeCells(old, map.mapped))) this.flushRun()
    this.run.push({ op: c.op, old, cells })
    if (cells !== null) this.produced.add(encodeCells(cells, map.mapped))
  }

  flush(): void {
    this.flushKeyed()
    this.flushRun()
  }

  private put(key: SlotKey, state: Slot["state"], cells: Cells): void {
    const slot = this.slots.get(key)
    if (slot === undefined) this.slots.set(key, { state, cells, change: null, map: null })
    else {
      slot.state = state
      slot.cells = cells
      slot.change = null
      slot.map = null
    }
  }

  /** a complete update of `key` (it replaces whatever the slot held), projected only if it survives */
  private defer(map: ColumnMap, key: SlotKey, c: RawRow): void {
    const slot = this.slots.get(key)
    if (slot === undefined) this.slots.set(key, { state: FULL, cells: null, change: c, map })
    else {
      slot.state = FULL
      slot.cells = null
      slot.change = c
      slot.map = map
    }
  }

  private update(map: ColumnMap, key: SlotKey, cells: Cells): void {
    const slot = this.slots.get(key)
    const complete = isComplete(map, cells)
    if (slot === undefined) this.slots.set(key, { state: complete ? FULL : PARTIAL, cells, change: null, map: null })
    else if (slot.state === GONE || complete) {
      slot.state = complete ? FULL : PARTIAL
      slot.cells = cells
      slot.change = null
      slot.map = null
    } else {
      const into = cellsOf(slot)
      for (const p of map.mapped) if (cells[p] !== undefined) into[p] = cells[p]
      if (slot.state === PARTIAL && isComplete(map, into)) slot.state = FULL
    }
  }

  private flushKeyed(): void {
    const map = this.map
    if (map === null) return
    if (this.moves.length > 0) {
      const groups = new Map<string, { columns: Array<number>; rows: Array<MoveRow> }>()
      for (const row of this.moves) {
        const columns = present(map, row.cells)
        const sig = columns.join(",")
        const group = groups.get(sig)
        if (group) group.rows.push(row)
        else groups.set(sig, { columns, rows: [row] })
      }
      for (const g of groups.values()) this.steps.push({ _tag: "Move", map, columns: g.columns, rows: g.rows })
      this.moves = []
      this.moveKeys.clear()
    }
    if (this.slots.size === 0) return
    const deletes: Array<Cells> = []
    const full: Array<StepRow> = []
    const maps: Array<ColumnMap> = []
    const partial = new Map<string, { columns: Array<number>; rows: Array<Cells> }>()
    for (const slot of this.slots.values()) {
      if (slot.state === FULL) {
        // a complete update never projected stays bytes: its values go into the statement from them
        full.push(slot.cells ?? slot.change!)
        maps.push(slot.map ?? map)
        continue
      }
      const cells = cellsOf(slot)
      if (slot.state === GONE) deletes.push(cells)
      else {
        const columns = present(map, cells)
        const sig = columns.join(",")
        const group = partial.get(sig)
        if (group) group.rows.push(cells)
        else partial.set(sig, { columns, rows: [cells] })
      }
    }
    this.slots.clear()
    if (deletes.length > 0) this.steps.push({ _tag: "Delete", map, rows: deletes })
    if (full.length > 0) this.steps.push(new CompleteWrite(map, full, maps))
    for (const { columns, rows } of partial.values()) {
      this.steps.push({ _tag: "Write", map, complete: false, columns, rows, count: rows.length })
    }
  }

  private flushRun(): void {
    if (this.run.length === 0 || this.map === null) return
    this.steps.push({ _tag: "FullRow", map: this.map, rows: this.run })
    this.run = []
    this.produced.clear()
  }
}

/** the plan for one destination table; append mode drops deletes and truncates */
export const foldBatch = (target: ApplyTarget, batch: ReadonlyArray<Change>, mode: FoldMode = "clone"): Plan => {
  const folder = new Folder(target)
  let skipped = 0
  for (const c of batch) {
    if (c._tag === "Truncate" || c.op === DELETE) {
      if (mode === "append") {
        skipped++
        continue
      }
      if (c._tag === "Truncate") {
        folder.truncate(c.sid)
        continue
      }
    }
    const map = columnMap(c.relation, target)
    folder.use(map)
    if (map.mode === "keyed") folder.keyed(map, c)
    else folder.fullRow(map, c)
  }
  folder.flush()
  return { steps: folder.steps, skipped }
}
