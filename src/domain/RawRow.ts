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

  constructor(
    readonly of: RawTx,
    readonly relation: Relation,
    readonly seq: number,
    readonly op: typeof UPDATE | typeof DELETE,
    readonly oldKind: "K" | "O" | null,
    readonly bytes: RawRowBytes
  ) {}

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
    const b = this.bytes
    if (b.oldStart < 0) return null
    return (this.oldValues ??= tupleAt(b.buf, b.oldStart, b.newStart < 0 ? b.end : b.newStart - 1))
  }

  get newTuple(): Tuple | null {
    const b = this.bytes
    if (b.newStart < 0) return null
    return (this.newValues ??= tupleAt(b.buf, b.newStart, b.end))
  }

  /** column `index` of the new row (an update's), decoding only that value */
  newValue(index: number): string | null | undefined {
    const b = this.bytes
    return this.newValues !== undefined ? this.newValues[index] : valueAt(b.buf, b.newStart, b.end, index)
  }
}
