import { Context, type Effect, type Redacted } from "effect"
import type { TableMapping } from "../config/Config.js"
import type { Change } from "../domain/Change.js"
import type { DdlChange } from "../domain/DdlEvent.js"
import type { Lsn } from "../domain/Lsn.js"
import type { WriteFailed } from "../writers/WriteFailed.js"

/** the last change applied to a target from one source: changes at or before it are skipped on replay */
export interface Position {
  readonly lsn: Lsn
  readonly seq: number
}

export const isApplied = (p: Position | undefined, lsn: Lsn, seq: number): boolean =>
  p !== undefined && (lsn < p.lsn || (lsn === p.lsn && seq <= p.seq))

/** a source connection feeding a target: its key ("<database>/<sid>") and URL */
export interface SpecSource {
  readonly source: string
  readonly url: Redacted.Redacted<string>
}

export interface TargetSpec {
  /** destination table name (in the destination schema) */
  readonly target: string
  readonly mapping: TableMapping
  /** every source connection that maps a table into this target */
  readonly sources: ReadonlyArray<SpecSource>
}

/**
 * Offered to `apply`: takes further changes from the table's mailbox, never waiting, while `accept` takes
 * them (at most `max`, replays of applied changes excluded). They join the batch being applied — pushed
 * onto its array, counted in its positions, acknowledged with it — as if they had been taken with it.
 */
export type Extend = (accept: (change: Change) => boolean, max: number) => ReadonlyArray<Change>

export interface SinkTarget {
  readonly name: string
  /** a permanent problem found when opening (e.g. the table is missing): the table starts stopped */
  readonly problem: WriteFailed | undefined
  /** positions already applied, per source key, as of opening */
  readonly positions: ReadonlyMap<string, Position>
  /**
   * Applies the batch atomically together with the new positions of the sources in the batch (one destination
   * transaction): either everything, positions included, is committed, or nothing is. Positions of other sources
   * are not given (in cluster mode another runner may be writing them).
   */
  readonly apply: (
    batch: ReadonlyArray<Change>,
    positions: ReadonlyMap<string, Position>,
    extend?: Extend
  ) => Effect.Effect<void, WriteFailed>
  /**
   * Applies a captured source DDL (DDL capture on) atomically together with the new positions, after every
   * change before it and before every change after it. Absent: captured DDL is ignored by this sink.
   */
  readonly applyDdl?: (change: DdlChange, positions: ReadonlyMap<string, Position>) => Effect.Effect<void, WriteFailed>
}

export interface SinkShape {
  readonly open: (spec: TargetSpec) => Effect.Effect<SinkTarget, WriteFailed>
}

/** The destination port: Postgres in production (`PgSink`), anything else a library user provides. */
export class Sink extends Context.Tag("walferry/Sink")<Sink, SinkShape>() {}
