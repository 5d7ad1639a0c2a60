/**
 * An insert whose new row is still pgoutput TupleData (see decode/RawTuple): its values are decoded the first
 * time something reads `newTuple`; the bulk COPY path reads the bytes instead. The bytes sit in the arena of
 * the table writer the change was routed to, so a writer's pending rows pin only its own slabs.
 */
import { tupleAt } from "../decode/RawTuple.js"
import { INSERT, type RowChange, type SourceTx, type Tuple } from "./Change.js"
import type { Lsn } from "./Lsn.js"
import type { Relation } from "./Relation.js"

export class RawInsert implements RowChange {
  readonly _tag = "Row"
  readonly op = INSERT
  readonly oldTuple = null
  readonly oldKind = null
  private values: Tuple | undefined = undefined

  constructor(
    readonly sid: string,
    readonly source: string,
    readonly relation: Relation,
    readonly lsn: Lsn,
    readonly seq: number,
    readonly commitTimeUs: bigint,
    readonly tx: SourceTx | undefined,
    /** the TupleData: bytes [start, end) of buf, text or NULL values only */
    readonly buf: Buffer,
    readonly start: number,
    readonly end: number
  ) {}

  get newTuple(): Tuple {
    return (this.values ??= tupleAt(this.buf, this.start, this.end))
  }
}
