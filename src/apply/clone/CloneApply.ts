/**
 * Applies a batch of changes for one destination table inside the caller's transaction (the caller runs
 * BEGIN/COMMIT), folded by BatchFold into a few set-based statements built by ApplySql. Statements carry
 * at most MAX_ROWS rows; splitting a step into consecutive statements keeps its meaning because the rows
 * of a step never depend on each other.
 *
 * clone: inserts, updates, deletes and truncates; append: the same without deletes and truncates.
 * History mode is a different plan over the same statements: plug it in next to `applyBatch`.
 *
 * A missing row is inserted by an update, except while an online copy of the table from the change's
 * source runs (see sync/watermark/MissingRows): then an update carrying unchanged-TOAST columns whose row is missing
 * is dropped (counted as missed), as the row's chunk brings it whole; a key change found at neither key
 * also records its new key for the copy to read again. Nothing partial is written.
 */
import type pg from "pg"
import { INSERT, type Change, type RowChange } from "../../domain/Change.js"
import type { ApplyTarget } from "../ApplyTarget.js"
import * as ApplySql from "./ApplySql.js"
import { copyWanted, type MoreRows } from "./CopyInsert.js"
import type { Plan } from "./ApplyPlan.js"
import { foldBatch } from "./BatchFold.js"
import { insertCells } from "./FoldCells.js"
import type { Extend } from "../../sink/Sink.js"
import { rawCopier } from "./RawCopy.js"
import { rawInsertWrite, singleWrite, type Single } from "./SingleStatement.js"
import { rawInsertMap, rawInsertsOf } from "./RowArrays.js"
import { applyError } from "../../sink/SqlState.js"
import { copyingSources } from "../../sync/watermark/MissingRows.js"
import { applyPlan, MAX_ROWS, type ApplyMode, type ApplyStats, type Counts, type OnlineCopy } from "./PlanApply.js"

export { applyPlan, MAX_ROWS, type ApplyMode, type ApplyStats, type OnlineCopy } from "./PlanApply.js"

/** only for plans that could insert a partial row */
const onlineCopy = (target: ApplyTarget, plan: Plan, batch: ReadonlyArray<Change>): OnlineCopy | undefined => {
  if (!plan.steps.some((s) => s._tag === "Move" || (s._tag === "Write" && !s.complete))) return undefined
  const copying = copyingSources(
    target.name,
    batch.map((c) => c.source)
  )
  if (copying.size === 0) return undefined
  const bySid = new Map<string, string>()
  for (const c of batch) if (copying.has(c.source)) bySid.set(c.sid, c.source)
  // without a sid column every row counts as coming from a copying source
  const any = [...copying][0]!
  return {
    sourceOf: (map, cells) => (map.sidPosition < 0 ? any : bySid.get(cells[map.sidPosition] ?? ""))
  }
}

/** what a batch takes: one standalone statement (the rows and the positions) or statements on a client */
export type BatchWork =
  | { readonly _tag: "Single"; readonly one: Single; readonly skipped: number }
  | { readonly _tag: "Client"; readonly run: (client: pg.ClientBase) => Promise<ApplyStats> }

/** the work of a batch, planned without a connection; a fold that fails throws its apply error */
export const batchWork = (
  target: ApplyTarget,
  batch: ReadonlyArray<Change>,
  mode: ApplyMode = "clone",
  extend?: Extend,
  positions?: ApplySql.Sql
): BatchWork => {
  const raw = rawCopier(target, batch, extend)
  if (raw !== undefined) return { _tag: "Client", run: raw }
  const rawRows = positions === undefined ? undefined : rawSingle(target, batch, positions)
  if (rawRows !== undefined) return { _tag: "Single", one: rawRows, skipped: 0 }
  let plan: Plan
  try {
    plan = foldBatch(target, batch, mode)
  } catch (err) {
    throw applyError(err, target)
  }
  const inserts = insertsOnly(batch)
  const online = onlineCopy(target, plan, batch)
  if (positions !== undefined && !(inserts && copyWanted(ApplySql.targetSql(target), batch.length))) {
    const one = singleWrite(ApplySql.targetSql(target), plan, MAX_ROWS, positions, online === undefined)
    if (one !== undefined) return { _tag: "Single", one, skipped: plan.skipped }
  }
  const more = extend && inserts ? moreInserts(plan, batch, extend) : undefined
  return { _tag: "Client", run: (client) => applyPlan(client, target, plan, online, inserts, more) }
}

export const runWork = (client: pg.ClientBase, target: ApplyTarget, work: BatchWork): Promise<ApplyStats> =>
  work._tag === "Client" ? work.run(client) : applySingle(client, target, work)

export const applyBatch = async (
  client: pg.ClientBase,
  target: ApplyTarget,
  batch: ReadonlyArray<Change>,
  mode: ApplyMode = "clone",
  extend?: Extend,
  positions?: ApplySql.Sql
): Promise<ApplyStats> => runWork(client, target, batchWork(target, batch, mode, extend, positions))

/** a batch of raw inserts of one relation and source, too small for COPY, as one statement from their bytes */
const rawSingle = (target: ApplyTarget, batch: ReadonlyArray<Change>, positions: ApplySql.Sql): Single | undefined => {
  const rows = rawInsertsOf(batch)
  if (rows === undefined || rows.length > MAX_ROWS) return undefined
  const map = rawInsertMap(rows[0]!.relation, target)
  return map && rawInsertWrite(ApplySql.targetSql(target), map, rows, positions)
}

const applySingle = async (
  client: pg.ClientBase,
  target: ApplyTarget,
  work: { readonly one: Single; readonly skipped: number }
): Promise<ApplyStats> => {
  let row: Counts
  try {
    row = (await client.query<Counts>(work.one.query)).rows[0]!
  } catch (err) {
    throw applyError(err, target)
  }
  return singleStats(work.one, work.skipped, row)
}

/** a standalone statement's outcome from the counts it returned */
export const singleStats = (one: Single, skipped: number, row: Counts): ApplyStats => {
  let written = 0
  let deleted = 0
  let missed = 0
  for (const c of one.counted) {
    const n = row[c.name]!
    if (c.kind === "written") written += n
    else {
      deleted += n
      missed += c.rows - n
    }
  }
  return {
    statements: 1,
    written,
    copied: 0,
    deleted,
    truncates: 0,
    missed,
    skipped,
    positionsSaved: true
  }
}

/**
 * For a batch of inserts of one relation folded into one COPY-able step: more inserts of that relation
 * from the mailbox, as rows of the step, to stream into the same COPY (see CopyInsert)
 */
const moreInserts = (plan: Plan, batch: ReadonlyArray<Change>, extend: Extend): MoreRows | undefined => {
  const step = plan.steps[0]
  if (plan.steps.length !== 1 || step?._tag !== "Write" || !step.complete || !step.map.conflictIsKey) return undefined
  const relation = (batch[0] as RowChange).relation
  for (const c of batch) if ((c as RowChange).relation !== relation) return undefined
  const accept = (c: Change) =>
    c._tag === "Row" &&
    c.op === INSERT &&
    c.relation === relation &&
    c.newTuple !== null &&
    !c.newTuple.includes(undefined)
  return (max) => extend(accept, max).map((c) => insertCells(step.map, c as RowChange))
}

const insertsOnly = (batch: ReadonlyArray<Change>): boolean => {
  for (const c of batch) if (c._tag !== "Row" || c.op !== INSERT) return false
  return true
}

export const applyClone = (client: pg.ClientBase, target: ApplyTarget, batch: ReadonlyArray<Change>) =>
  applyBatch(client, target, batch, "clone")

export const applyAppend = (client: pg.ClientBase, target: ApplyTarget, batch: ReadonlyArray<Change>) =>
  applyBatch(client, target, batch, "append")
