/**
 * Applies a table's CEL `filter` and `set` to its streamed row changes, on the source side (the mapping is
 * per database group, a target may be fed by several). Programs are compiled once per source relation.
 *
 * - insert, update: the filter reads the new row; a rejected change is not dispatched.
 * - delete: the filter reads the old row when the source sends it whole (REPLICA IDENTITY FULL); with only
 *   the key sent, the delete is applied (it removes the row only if an earlier change let it in).
 * - `set` replaces the row by its computed columns; the old key of an update or delete is computed from the
 *   old key values, so it addresses the translated destination row.
 * - a row whose evaluation fails is not applied: it is counted (`walferry_expression_failures_total`) and
 *   reported with its source key through `onFailure`; the table keeps streaming.
 */
import { DELETE, INSERT, type RowChange, type Tuple } from "../domain/Change.js"
import type { Relation } from "../domain/Relation.js"
import {
  bindRow,
  compileExpressions,
  passes,
  project,
  projectedRelation,
  type CompiledExpressions,
  type Expressions
} from "./RowExpressions.js"

interface Prepared {
  readonly compiled: CompiledExpressions
  readonly projected: Relation
}

export interface RowFailure {
  readonly table: string
  /** `col=value, …` of the source key (or of the whole row without one) */
  readonly key: string
  readonly detail: string
}

const keyText = (relation: Relation, row: Tuple | null): string => {
  if (row === null) return ""
  const keyed = relation.columns.some((c) => c.isKey)
  return relation.columns
    .map((c, i) => ((keyed && !c.isKey) || row[i] === undefined ? undefined : `${c.name}=${row[i] ?? "NULL"}`))
    .filter((s) => s !== undefined)
    .join(", ")
}

export class RowTransform {
  private readonly prepared = new WeakMap<Relation, Prepared>()

  constructor(
    /** `schema.name` of the mapped source table, for messages */
    readonly table: string,
    private readonly expressions: Expressions,
    /** NOT NULL columns of the source table (typed variables; the others are dyn) */
    private readonly notNull: ReadonlySet<string>,
    private readonly onFailure: (failure: RowFailure) => void
  ) {}

  /** compiles for this relation; throws ExpressionInvalid */
  prepare(relation: Relation): Prepared {
    let p = this.prepared.get(relation)
    if (p === undefined) {
      const full = relation.replicaIdentity === "f"
      const columns = relation.columns.map((c) => ({ ...c, notNull: (c.isKey && !full) || this.notNull.has(c.name) }))
      const compiled = compileExpressions(this.table, this.expressions, columns, full)
      p = { compiled, projected: projectedRelation(relation, compiled) }
      this.prepared.set(relation, p)
    }
    return p
  }

  /** the change to dispatch, or null when the filter rejects it or its evaluation failed */
  apply(change: RowChange): RowChange | null {
    const { compiled, projected } = this.prepare(change.relation)
    const now = new Date(Number(change.commitTimeUs / 1000n))
    const isDelete = change.op === DELETE
    try {
      const row = isDelete ? change.oldTuple : change.newTuple
      const ctx = row === null ? undefined : bindRow(compiled, row, now)
      const filtered = ctx !== undefined && (!isDelete || change.oldKind === "O")
      if (filtered && !passes(compiled, ctx)) return null
      if (compiled.set === undefined) return change
      const newTuple = isDelete || ctx === undefined ? null : project(compiled, ctx, false)
      let oldTuple: Tuple | null = null
      if (change.oldTuple !== null) {
        const oldCtx = isDelete && ctx !== undefined ? ctx : bindRow(compiled, change.oldTuple, now)
        oldTuple = project(compiled, oldCtx, change.oldKind !== "O")
      }
      return {
        _tag: "Row",
        op: change.op,
        sid: change.sid,
        source: change.source,
        relation: projected,
        lsn: change.lsn,
        seq: change.seq,
        commitTimeUs: change.commitTimeUs,
        newTuple,
        oldTuple,
        oldKind: change.oldKind,
        tx: change.tx
      }
    } catch (e) {
      const row = change.op === INSERT ? change.newTuple : (change.oldTuple ?? change.newTuple)
      this.onFailure({
        table: this.table,
        key: keyText(change.relation, row),
        detail: e instanceof Error ? e.message : String(e)
      })
      return null
    }
  }
}
