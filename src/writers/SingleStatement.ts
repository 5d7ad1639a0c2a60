/**
 * A batch that folds to one set-based statement (an upsert by key, a delete by key, or a plain insert too
 * small for COPY) is sent together with the table's positions as ONE statement: the write and the positions
 * upsert are data-modifying CTEs of one query, which Postgres runs atomically in its own implicit
 * transaction. One round trip instead of four (BEGIN, the write, the positions, COMMIT): what small batches
 * of an OLTP stream (a hot table changed once per source transaction) spend most of their time on. Plans of
 * several steps, COPY-sized inserts, truncates, key moves, rows with unchanged-TOAST gaps, batches meeting an
 * online copy and history tables keep the explicit transaction of PgSink.
 *
 * Guarantee: the same as the transaction it replaces — the rows and the positions commit together or not at
 * all, so a replay skips exactly what was committed.
 */
import type * as ApplySql from "./ApplySql.js"
import { deleteSql, insertSql, upsertSql } from "./ApplySql.js"
import type { Plan } from "./ApplyPlan.js"
import { copyWanted } from "./CopyInsert.js"
import { statementName, TextCache } from "./StatementNames.js"

/** what the statement's count means */
export type SingleKind = "written" | "deleted"

export interface Single {
  readonly sql: ApplySql.Sql
  readonly kind: SingleKind
  readonly rows: number
}

/** marks a query config for Transaction: sent on its own, outside BEGIN/COMMIT */
export interface Standalone {
  readonly text: string
  readonly name: string | undefined
  readonly values: Array<unknown>
  readonly standalone: true
}

/** the one write statement of a plan, or undefined when the plan needs the general path */
export const singleWrite = (t: ApplySql.TargetSql, plan: Plan, maxRows: number): Single | undefined => {
  if (plan.steps.length !== 1) return undefined
  const s = plan.steps[0]!
  switch (s._tag) {
    case "Write":
      if (!s.complete || !s.map.conflictIsKey || s.rows.length > maxRows) return undefined
      return { sql: upsertSql(t, s.map, s.columns, s.rows), kind: "written", rows: s.rows.length }
    case "Delete":
      if (s.rows.length > maxRows) return undefined
      return { sql: deleteSql(t, s.map, s.rows), kind: "deleted", rows: s.rows.length }
    case "FullRow": {
      if (s.rows.length > maxRows || copyWanted(t, s.rows.length)) return undefined
      const cells = []
      for (const r of s.rows) {
        if (r.old !== null) return undefined
        cells.push(r.cells!)
      }
      return { sql: insertSql(t, s.map.mapped, cells), kind: "written", rows: cells.length }
    }
    default:
      return undefined
  }
}

const combined = new TextCache()

/** `WITH w AS (<write> RETURNING 1), p AS (<positions> RETURNING 1) SELECT count(*) FROM w`, a prepared statement */
export const withPositions = (write: ApplySql.Sql, positions: ApplySql.Sql): Standalone => {
  const offset = write.values.length
  const text = combined.get(`${write.text}\u0000${positions.text}`, () => {
    const shifted = positions.text.replace(/\$(\d+)/g, (_, n: string) => `$${Number(n) + offset}`)
    return `WITH w AS (${write.text} RETURNING 1), p AS (${shifted} RETURNING 1) SELECT (SELECT count(*) FROM w)::int AS n`
  })
  return { text, name: statementName(text), values: [...write.values, ...positions.values], standalone: true }
}
