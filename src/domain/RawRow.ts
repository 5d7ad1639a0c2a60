/**
 * An update or delete whose tuples are still pgoutput TupleData (see decode/RawTuple), like RawInsert: the
 * values are decoded the first time something reads `newTuple` or `oldTuple`, so a change that a batch fold
 * replaces by a later change of the same key never builds its values; `newValue` reads one column without
 * decoding the others. The bytes sit in the arena of the table writer the change was routed to.
 */
import { tupleAt, valueAt } from "../decode/RawTuple.js"
import type { RawRowBytes } from "../decode/PgOutputMessage.js"
import type { DELETE, RowChange, SourceTx, Tuple, UPDATE } from "./Change.js"
import type { Lsn } from "./Lsn.js"
import type { RawTx } from "./RawInsert.js"
import type { Relation } from "./Relation.js"

export class RawRow implements RowChange {
  private oldValues: Tuple | undefined = undefined
  private newValues: Tuple | undefined = undefined
  readonly buf: Buffer
  readonly oldStart: number
  readonly newStart: number
  readonly end: number
  /** the new tuple has no unchanged-TOAST value */
  readonly plain: boolean

  /** keeps the positions of `bytes`, not `bytes` (the decoder's message), which can die young */
  constructor(
    readonly of: RawTx,
    readonly relation: Relation,
    readonly seq: number,
    readonly op: typeof UPDATE | typeof DELETE,
    readonly oldKind: "K" | "O" | null,
    bytes: RawRowBytes
  ) {
    this.buf = bytes.buf
    this.oldStart = bytes.oldStart
    this.newStart = bytes.newStart
    this.end = bytes.end
    this.plain = bytes.plain
  }

  get _tag(): "Row" {
    return "Row"
  }
  get sid(): string {
    return this.of.sid
  }
  get source(): string {
    return this.of.source
  }
  get lsn(): Lsn {
    return this.of.lsn
  }
  get commitTimeUs(): bigint {
    return this.of.commitTimeUs
  }
  get tx(): SourceTx | undefined {
    return this.of.tx
  }

  get oldTuple(): Tuple | null {
    if (this.oldStart < 0) return null
    return (this.oldValues ??= tupleAt(this.buf, this.oldStart, this.newStart < 0 ? this.end : this.newStart - 1))
  }

  get newTuple(): Tuple | null {
    if (this.newStart < 0) return null
    return (this.newValues ??= tupleAt(this.buf, this.newStart, this.end))
  }

  /** column `index` of the new row (an update's), decoding only that value */
  newValue(index: number): string | null | undefined {
    return this.newValues !== undefined ? this.newValues[index] : valueAt(this.buf, this.newStart, this.end, index)
  }
}
