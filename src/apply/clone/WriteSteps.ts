/**
 * The complete Write step BatchFold emits. It holds its rows as the fold left them: cells, or a raw
 * complete update that survived the fold unprojected (RawRow). `arrays()` writes the statement's parameters
 * from the bytes where a row has them (RowArrays); `rows` builds every row's cells on first read, for the
 * consumers that need them (the general apply path, tests). Classes, not object literals with a getter and
 * closures: those made bench:hotpath promote 1.7x the bytes.
 */
import type { RowChange } from "../../domain/Change.js"
import type { ColumnMap } from "../ColumnMap.js"
import type { Cells, CompleteWriteStep } from "./ApplyPlan.js"
import { project } from "./FoldCells.js"
import { rowArrays, type StepRow } from "./RowArrays.js"

/** the upsert of a segment's complete rows; `maps[i]`: the column map of row i (of its relation) */
export class CompleteWrite implements CompleteWriteStep {
  readonly _tag = "Write"
  readonly complete = true
  readonly columns: ReadonlyArray<number>
  private built: Array<Cells> | undefined = undefined

  constructor(
    readonly map: ColumnMap,
    private readonly items: Array<StepRow>,
    private readonly maps: Array<ColumnMap>
  ) {
    this.columns = map.mapped
  }

  get count(): number {
    return this.items.length
  }

  get rows(): ReadonlyArray<Cells> {
    return (this.built ??= this.items.map((r, i) =>
      Array.isArray(r) ? r : project(this.maps[i]!, r.sid, (r as RowChange).newTuple!, null)
    ))
  }

  arrays(): Array<Buffer> {
    const maps = this.maps
    return rowArrays(this.columns, this.items, (i) => maps[i]!)
  }
}
