/**
 * An insert whose new row is still pgoutput TupleData (see decode/RawTuple): its values are decoded the first
 * time something reads `newTuple`; the bulk COPY path reads the bytes instead. The bytes sit in the arena of
 * the table writer the change was routed to, so a writer's pending rows pin only its own slabs.
 *
 * What every insert of one source transaction shares (sid, source, LSN, commit time, trace) is one RawTx:
 * a bulk load keeps tens of thousands of these alive until their COPY commits, so each holds only what is
 * its own (7 fields) and the rest of RowChange is read through getters.
 */
import { tupleAt } from "../decode/RawTuple.js"
import { INSERT, type RowChange, type SourceTx, type Tuple } from "./Change.js"
import type { Lsn } from "./Lsn.js"
import type { Relation } from "./Relation.js"

export class RawTx {
  constructor(
    readonly sid: string,
    readonly source: string,
    readonly lsn: Lsn,
    readonly commitTimeUs: bigint,
    readonly tx: SourceTx | undefined
  ) {}
}

export class RawInsert implements RowChange {
  private values: Tuple | undefined = undefined

  constructor(
    readonly of: RawTx,
    readonly relation: Relation,
    readonly seq: number,
    /** the TupleData: bytes [start, end) of buf, text or NULL values only */
    readonly buf: Buffer,
    readonly start: number,
    readonly end: number
  ) {}

  get _tag(): "Row" {
    return "Row"
  }
  get op(): typeof INSERT {
    return INSERT
  }
  get oldTuple(): null {
    return null
  }
  get oldKind(): null {
    return null
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

  get newTuple(): Tuple {
    return (this.values ??= tupleAt(this.buf, this.start, this.end))
  }
}
