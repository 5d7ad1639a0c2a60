/**
 * Applies a batch of changes for one destination table inside the caller's transaction (the caller runs
 * BEGIN/COMMIT), folded by BatchFold into a few set-based statements built by ApplySql. Statements carry
 * at most MAX_ROWS rows; splitting a step into consecutive statements keeps its meaning because the rows
 * of a step never depend on each other.
 *
 * clone: inserts, updates, deletes and truncates; append: the same without deletes and truncates.
 * History mode is a different plan over the same statements: plug it in next to `applyBatch`.
 */
import type pg from "pg"
import type { Change } from "../domain/Change.js"
import { SID_COLUMN, type ApplyTarget } from "./ApplyTarget.js"
import * as ApplySql from "./ApplySql.js"
import { encodeCells, type Cells, type FoldMode, type Plan, type Step } from "./ApplyPlan.js"
import { foldBatch } from "./BatchFold.js"
import { applyError } from "./SqlState.js"

export type ApplyMode = FoldMode

export interface ApplyStats {
  /** statements sent to the destination */
  readonly statements: number
  /** destination rows inserted or updated */
  readonly written: number
  readonly deleted: number
  readonly truncates: number
  /** deletes and keyless updates that found no destination row */
  readonly missed: number
  /** changes dropped by the mode (append: deletes and truncates) */
  readonly skipped: number
}

export const MAX_ROWS = 20_000

const chunks = <A>(rows: ReadonlyArray<A>): Array<ReadonlyArray<A>> => {
  if (rows.length <= MAX_ROWS) return [rows]
  const out: Array<ReadonlyArray<A>> = []
  for (let i = 0; i < rows.length; i += MAX_ROWS) out.push(rows.slice(i, i + MAX_ROWS))
  return out
}

/** consecutive runs without a repeated conflict key: ON CONFLICT cannot affect a row twice in one statement */
const distinctRuns = (rows: ReadonlyArray<Cells>, positions: ReadonlyArray<number>): Array<ReadonlyArray<Cells>> => {
  const out: Array<ReadonlyArray<Cells>> = []
  let run: Array<Cells> = []
  let seen = new Set<string>()
  for (const row of rows) {
    const key = encodeCells(row, positions)
    if (seen.has(key) || run.length >= MAX_ROWS) {
      out.push(run)
      run = []
      seen = new Set()
    }
    seen.add(key)
    run.push(row)
  }
  if (run.length > 0) out.push(run)
  return out
}

interface Counts {
  [name: string]: number
}

export const applyPlan = async (client: pg.ClientBase, target: ApplyTarget, plan: Plan): Promise<ApplyStats> => {
  const t = ApplySql.targetSql(target)
  const stats = { statements: 0, written: 0, deleted: 0, truncates: 0, missed: 0, skipped: plan.skipped }
  const run = async (sql: ApplySql.Sql): Promise<pg.QueryResult<Counts>> => {
    stats.statements++
    try {
      return await client.query<Counts>({ text: sql.text, values: sql.values })
    } catch (err) {
      throw applyError(err, target)
    }
  }
  const one = async (sql: ApplySql.Sql): Promise<Counts> => (await run(sql)).rows[0]!

  const step = async (s: Step): Promise<void> => {
    switch (s._tag) {
      case "Truncate": {
        await run(
          ApplySql.truncateSql(
            t,
            target.columns.findIndex((c) => c.name === SID_COLUMN),
            s.sid
          )
        )
        stats.truncates++
        return
      }
      case "Write": {
        if (s.complete && s.map.conflict.length > 0) {
          const parts = s.map.conflictIsKey ? chunks(s.rows) : distinctRuns(s.rows, s.map.conflict)
          for (const rows of parts)
            stats.written += (await run(ApplySql.upsertSql(t, s.map, s.columns, rows))).rowCount ?? 0
        } else {
          for (const rows of chunks(s.rows)) {
            const c = await one(ApplySql.mergeSql(t, s.map, s.columns, rows))
            stats.written += c.updated! + c.inserted!
          }
        }
        return
      }
      case "Delete": {
        for (const rows of chunks(s.rows)) {
          const deleted = (await run(ApplySql.deleteSql(t, s.map, rows))).rowCount ?? 0
          stats.deleted += deleted
          stats.missed += Math.max(0, rows.length - deleted)
        }
        return
      }
      case "Move": {
        for (const rows of chunks(s.rows)) {
          const c = await one(ApplySql.moveSql(t, s.map, s.columns, rows))
          stats.written += c.moved! + c.updated! + c.inserted!
        }
        return
      }
      case "FullRow": {
        for (const rows of chunks(s.rows)) {
          if (rows.every((r) => r.old === null)) {
            const cells = rows.map((r) => r.cells!)
            stats.written += (await run(ApplySql.insertSql(t, s.map.mapped, cells))).rowCount ?? 0
            continue
          }
          const c = await one(ApplySql.fullRowSql(t, s.map, rows))
          stats.written += c.inserted! + c.updated!
          stats.deleted += c.deleted!
          stats.missed += c.wanted! - c.updated! - c.deleted!
        }
        return
      }
    }
  }

  for (const s of plan.steps) await step(s)
  return stats
}

export const applyBatch = (
  client: pg.ClientBase,
  target: ApplyTarget,
  batch: ReadonlyArray<Change>,
  mode: ApplyMode = "clone"
): Promise<ApplyStats> => {
  let plan: Plan
  try {
    plan = foldBatch(target, batch, mode)
  } catch (err) {
    return Promise.reject(applyError(err, target))
  }
  return applyPlan(client, target, plan)
}

export const applyClone = (client: pg.ClientBase, target: ApplyTarget, batch: ReadonlyArray<Change>) =>
  applyBatch(client, target, batch, "clone")

export const applyAppend = (client: pg.ClientBase, target: ApplyTarget, batch: ReadonlyArray<Change>) =>
  applyBatch(client, target, batch, "append")
