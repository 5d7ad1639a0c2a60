/**
 * The initial copy of a history table that already holds versions (kept by kuvasz-streamer, or by walferry
 * before a resync): the snapshot is COPYed into a temporary stage and merged into the versions with two
 * set-based statements, in the copy's destination transaction, touching only this source's slice (its
 * `sid`, when the target has one) and only the columns the source feeds:
 *   1. close every open version whose key has no equal row in the stage, at the snapshot time: deleted
 *      when the key is absent from the snapshot, not deleted when its row changed;
 *   2. open a version for every stage row whose key has no open version left: at the snapshot time when
 *      the key had versions before (changed, or back after a delete), else at FIRST_LOAD_START like a
 *      first load (nothing is known of when it appeared).
 * Keys whose open version equals the snapshot row are left alone. Values compare as text (any type, json
 * and geometric types included); keys with the types' equality, so the target's key index serves. A table
 * without a business key is matched on whole rows. Applying it again with the same snapshot changes
 * nothing, so a copy interrupted and repeated (resumed online) ends the same.
 */
import { Effect } from "effect"
import type pg from "pg"
import type { HistoryColumns } from "../config/Config.js"
import { quoteIdent } from "../lib/Sql.js"
import { FIRST_LOAD_START, OPEN_END, type PositionType } from "../apply/history/HistoryTarget.js"

export interface ReconcileSpec {
  /** qualified destination table */
  readonly destSql: string
  readonly hasSid: boolean
  readonly history: HistoryColumns
  readonly positionType: PositionType
  /** destination columns identifying an entity, sid excluded; [] = match whole rows */
  readonly key: ReadonlyArray<string>
  /** destination columns fed by the source, sid and history columns excluded */
  readonly data: ReadonlyArray<string>
}

export interface Reconciled {
  /** open versions closed because their row changed (each gets a new version) */
  readonly changed: number
  /** open versions closed as deleted: their key is not in the snapshot */
  readonly deleted: number
  /** versions opened: changed rows and keys new to the table */
  readonly opened: number
}

const OPEN = `timestamptz '9998-12-31 00:00:00+00'`

/** the two statements; parameters: $1 snapshot time, $2 sid (when the target has one) */
export const reconcileSql = (spec: ReconcileSpec, stage: string) => {
  const q = quoteIdent
  const h = spec.history
  const key = spec.key.length > 0 ? spec.key : spec.data
  const rest = spec.data.filter((c) => !key.includes(c))
  const sid = spec.hasSid ? [`t.${q("sid")} = $2`] : []
  const sameKey = [
    ...(spec.hasSid ? [`s.${q("sid")} = t.${q("sid")}`] : []),
    ...key.map((c) =>
      spec.key.length > 0 ? `s.${q(c)} = t.${q(c)}` : `s.${q(c)}::text IS NOT DISTINCT FROM t.${q(c)}::text`
    )
  ]
  const sameRow = [...sameKey, ...rest.map((c) => `s.${q(c)}::text IS NOT DISTINCT FROM t.${q(c)}::text`)]
  const open = `t.${q(h.end)} >= ${OPEN}`
  const where = (parts: ReadonlyArray<string>) => parts.join(" AND ")
  const close =
    `WITH c AS (UPDATE ${spec.destSql} AS t SET ${q(h.end)} = $1::timestamptz, ` +
    `${q(h.deleted)} = NOT EXISTS (SELECT 1 FROM ${stage} AS s WHERE ${where(sameKey)}) ` +
    `WHERE ${where([open, ...sid])} AND NOT EXISTS (SELECT 1 FROM ${stage} AS s WHERE ${where(sameRow)}) ` +
    `RETURNING t.${q(h.deleted)} AS x) ` +
    `SELECT (count(*) FILTER (WHERE NOT x))::int AS changed, (count(*) FILTER (WHERE x))::int AS deleted FROM c`
  const columns = [...(spec.hasSid ? ["sid"] : []), ...spec.data]
  const position = spec.positionType === "numeric" ? "0::numeric" : `'00000000/00000000/00000000'::text`
  const seen = `EXISTS (SELECT 1 FROM ${spec.destSql} AS t WHERE ${where([...sid, ...sameKey])})`
  const opened =
    `INSERT INTO ${spec.destSql} (${[...columns, h.start, h.end, h.deleted, h.lsn].map(q).join(", ")}) ` +
    `SELECT ${columns.map((c) => `s.${q(c)}`).join(", ")}, ` +
    `CASE WHEN ${seen} THEN $1::timestamptz ELSE timestamptz '${FIRST_LOAD_START}' END, ` +
    `timestamptz '${OPEN_END}', false, ${position} FROM ${stage} AS s ` +
    `WHERE NOT EXISTS (SELECT 1 FROM ${spec.destSql} AS t WHERE ${where([open, ...sid, ...sameKey])})`
  return { close, opened }
}

/** merges `stage` (this slice's snapshot rows) into the versions; `at` is the snapshot time (timestamptz text) */
export const reconcileStage = async (
  client: pg.ClientBase,
  spec: ReconcileSpec,
  stage: string,
  sid: string,
  at: string
): Promise<Reconciled> => {
  const { close, opened } = reconcileSql(spec, stage)
  const params = spec.hasSid ? [at, sid] : [at]
  await client.query(`ANALYZE ${stage}`)
  const closed = (await client.query<{ changed: number; deleted: number }>(close, params)).rows[0]!
  const inserted = await client.query(opened, params)
  return { changed: closed.changed, deleted: closed.deleted, opened: inserted.rowCount ?? 0 }
}

export const logReconciled = (t: { readonly label: string; readonly target: string }, r: Reconciled, at: string) =>
  Effect.logInfo(
    `history of ${t.target} reconciled with the snapshot of ${t.label} at ${at}: ${r.changed} changed row(s) ` +
      `re-versioned, ${r.deleted} key(s) closed as deleted, ${r.opened} version(s) opened, every other key untouched`
  ).pipe(Effect.annotateLogs({ table: t.label }))
