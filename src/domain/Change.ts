import type { Tracer } from "effect"
import type { DdlChange } from "./DdlEvent.js"
import type { Lsn } from "./Lsn.js"
import type { Relation } from "./Relation.js"

/**
 * A tuple in pgoutput text format, one slot per relation column:
 * a string (text value), null (SQL NULL) or `undefined` (unchanged TOASTed value, not sent).
 */
export type Tuple = ReadonlyArray<string | null | undefined>

export const INSERT = 0
export const UPDATE = 1
export const DELETE = 2
export type RowOp = typeof INSERT | typeof UPDATE | typeof DELETE

/**
 * The trace of the source transaction a change came in: one object shared by all changes of that transaction,
 * present only while traces are exported (telemetry/SourceTxTracer).
 */
export interface SourceTx {
  readonly span: Tracer.Span
}

/**
 * One row change, tagged with the commit LSN of its source transaction and its ordinal within that
 * transaction: (lsn, seq) orders every change of a source totally and is stable across replays.
 */
export interface RowChange {
  readonly _tag: "Row"
  readonly op: RowOp
  /** sid of the source URL the change came from (shared string, "" when the group has one unnamed source) */
  readonly sid: string
  /** the source connection it came from ("<database group>/<sid>"), for LSN bookkeeping */
  readonly source: string
  readonly relation: Relation
  readonly lsn: Lsn
  readonly seq: number
  /** source commit time, microseconds since the Unix epoch */
  readonly commitTimeUs: bigint
  /** new row image (insert, update) */
  readonly newTuple: Tuple | null
  /** old image: key columns only ("K"), the full row ("O"), or null when the key did not change */
  readonly oldTuple: Tuple | null
  readonly oldKind: "K" | "O" | null
  readonly tx?: SourceTx | undefined
}

export interface TruncateChange {
  readonly _tag: "Truncate"
  readonly sid: string
  readonly source: string
  readonly relation: Relation
  readonly lsn: Lsn
  readonly seq: number
  readonly commitTimeUs: bigint
  readonly cascade: boolean
  readonly restartIdentity: boolean
  readonly tx?: SourceTx | undefined
}

export type Change = RowChange | TruncateChange

/** what a table writer's mailbox holds: row changes and, with DDL capture, captured schema changes */
export type Queued = Change | DdlChange
