/**
 * History (SCD type 2) destinations. `historyTargetOf` checks that a table can keep versions: start and end
 * `timestamptz`, deleted `boolean`, and a position column (`numeric`, or `text`/`varchar`) wide enough for
 * (commit LSN, seq); otherwise it throws a HistoryTargetError naming the table and the column.
 *
 * `historyMap` decides, per source relation, which destination columns a change writes (never the history
 * columns) and which identify an entity across its versions, the business key:
 * - an explicit `businessKey`, else
 * - sid (when the table has it) + the relation's replica identity key, else (REPLICA IDENTITY FULL)
 * - sid + the destination primary key columns the relation feeds, minus the history columns: a surrogate
 *   such as `kvsz_id` is not fed and drops out;
 * - none: the table is keyless (only inserts can be applied, see HistoryFold).
 * The destination's primary key itself (with a surrogate or the start column) never matches versions.
 */
import type { HistoryColumns, TableMapping } from "../../config/Config.js"
import { qualifiedName, type Relation } from "../../domain/Relation.js"
import { SID_COLUMN, type ApplyTarget } from "../ApplyTarget.js"
import { FROM_SID, UNMAPPED } from "../ColumnMap.js"

/** end of an open version */
export const OPEN_END = "9999-01-01 00:00:00+00"
/** start of a version written by the initial copy */
export const FIRST_LOAD_START = "1900-01-01 00:00:00+00"

export type PositionType = "numeric" | "text"

export interface HistoryTarget extends ApplyTarget {
  /** names of the start, end, deleted and position columns */
  readonly history: HistoryColumns
  /** how the position column stores (commit LSN, seq): see HistoryFold.encodePosition */
  readonly positionType: PositionType
  /** destination columns identifying an entity (sid first when present); undefined: derived per relation */
  readonly businessKey: ReadonlyArray<string> | undefined
  /** a streamed insert opens its version at FIRST_LOAD_START (kuvasz-streamer's sentinel), not at commit time */
  readonly sentinelStart: boolean
}

export interface HistoryMap {
  readonly relation: Relation
  readonly target: HistoryTarget
  /** per destination column: source column index, FROM_SID, or UNMAPPED (always for history columns) */
  readonly sourceOf: Int32Array
  /** destination positions written from the change (source-fed and sid), ascending */
  readonly mapped: ReadonlyArray<number>
  /** destination positions of the business key; empty for a keyless table */
  readonly key: ReadonlyArray<number>
  /** the key is the leading part of the destination primary (or unique) key, so its index finds versions */
  readonly indexed: boolean
  /** destination positions of the start, end, deleted and position columns */
  readonly start: number
  readonly end: number
  readonly deleted: number
  readonly lsn: number
  /** maps with equal signatures produce versions that can share a statement */
  readonly signature: string
}

export class HistoryTargetError extends Error {
  override readonly name = "HistoryTargetError"
}

const fail = (table: { readonly schema: string; readonly name: string }, what: string): never => {
  throw new HistoryTargetError(`walferry: table ${qualifiedName(table)}: ${what}`)
}

const TIMESTAMPTZ = /^timestamp(\(\d\))? with time zone$/
/** lsn * 2^32 + seq needs 29 digits; the text form "XXXXXXXX/XXXXXXXX/XXXXXXXX" 26 characters */
const positionType = (typeName: string): PositionType | string => {
  const numeric = /^numeric(?:\((\d+)(?:,(\d+))?\))?$/.exec(typeName)
  if (numeric)
    return numeric[1] === undefined || Number(numeric[1]) - Number(numeric[2] ?? 0) >= 29 ? "numeric" : "too narrow"
  const text = /^(?:text|character varying(?:\((\d+)\))?)$/.exec(typeName)
  if (text) return text[1] === undefined || Number(text[1]) >= 26 ? "text" : "too narrow"
  return typeName === "bigint" ? "a bigint cannot hold a commit LSN and its ordinal" : "wrong type"
}

/** the history view of a destination table; throws HistoryTargetError when it cannot keep versions */
export const historyTargetOf = (
  table: ApplyTarget,
  mapping: Pick<TableMapping, "history" | "firstVersionStart">,
  relation?: Relation
): HistoryTarget => {
  const h = mapping.history
  const names = [h.start, h.end, h.deleted, h.lsn]
  if (new Set(names).size < 4) fail(table, `history columns must be distinct, got ${names.join(", ")}`)
  const typeOf = (name: string, wanted: string): string =>
    table.columns.find((c) => c.name === name)?.typeName ??
    fail(
      table,
      `history column "${name}" is missing (history mode needs ${h.start} timestamptz, ${h.end} ` +
        `timestamptz, ${h.deleted} boolean, ${h.lsn} numeric; add it: alter table ... add column "${name}" ${wanted})`
    )
  for (const name of [h.start, h.end]) {
    const type = typeOf(name, "timestamptz")
    if (!TIMESTAMPTZ.test(type)) fail(table, `history column "${name}" has type ${type}, expected timestamptz`)
  }
  const deleted = typeOf(h.deleted, "boolean not null default false")
  if (deleted !== "boolean") fail(table, `history column "${h.deleted}" has type ${deleted}, expected boolean`)
  const lsnType = typeOf(h.lsn, "numeric")
  const position = positionType(lsnType)
  if (position !== "numeric" && position !== "text") {
    fail(table, `history column "${h.lsn}" has type ${lsnType}, expected numeric or text (${position})`)
  }
  const target: HistoryTarget = {
    ...table,
    history: h,
    positionType: position as PositionType,
    businessKey: undefined,
    sentinelStart: mapping.firstVersionStart === "sentinel"
  }
  if (relation === undefined) return target
  return { ...target, businessKey: historyMap(target, relation).key.map((p) => table.columns[p]!.name) }
}

const keyNames = (target: HistoryTarget, relation: Relation, sourceOf: Int32Array): ReadonlyArray<string> => {
  if (target.businessKey !== undefined) return target.businessKey
  const sid = target.hasSid ? [SID_COLUMN] : []
  const identity = relation.replicaIdentity === "f" ? [] : relation.columns.filter((c) => c.isKey).map((c) => c.name)
  if (identity.length > 0) return [...sid, ...identity]
  const h = target.history
  const skip = new Set([SID_COLUMN, h.start, h.end, h.deleted, h.lsn])
  const fed = target.primaryKey.filter(
    (n) => !skip.has(n) && sourceOf[target.columns.findIndex((c) => c.name === n)] !== UNMAPPED
  )
  return fed.length > 0 ? [...sid, ...fed] : []
}

const build = (target: HistoryTarget, relation: Relation): HistoryMap => {
  const positionOf = new Map<string, number>()
  target.columns.forEach((c, i) => positionOf.set(c.name, i))
  const where = `(source ${qualifiedName(relation)})`
  const at = (name: string) => positionOf.get(name) ?? fail(target, `column "${name}" is missing ${where}`)
  const h = target.history
  const [start, end, deleted, lsn] = [at(h.start), at(h.end), at(h.deleted), at(h.lsn)]
  const sidPosition = target.hasSid ? at(SID_COLUMN) : -1
  const sourceOf = new Int32Array(target.columns.length).fill(UNMAPPED)
  const reserved = new Set([start, end, deleted, lsn, sidPosition])
  relation.columns.forEach((c, i) => {
    const p = positionOf.get(c.name)
    if (p !== undefined && !reserved.has(p)) sourceOf[p] = i
  })
  if (sidPosition >= 0) sourceOf[sidPosition] = FROM_SID
  const mapped: Array<number> = []
  sourceOf.forEach((s, p) => {
    if (s !== UNMAPPED) mapped.push(p)
  })
  if (mapped.length === (sidPosition >= 0 ? 1 : 0)) fail(target, `no column in common with the source ${where}`)
  const key = keyNames(target, relation, sourceOf).map((n) => {
    const p = at(n)
    if (sourceOf[p] === UNMAPPED) fail(target, `business key column "${n}" is not fed by the source ${where}`)
    return p
  })
  const lead = target.primaryKey.slice(0, key.length)
  const indexed = key.length > 0 && key.every((p) => lead.includes(target.columns[p]!.name))
  const signature = `${mapped.join(",")}|${key.join(",")}`
  return { relation, target, sourceOf, mapped, key, indexed, start, end, deleted, lsn, signature }
}

const cache = new WeakMap<HistoryTarget, WeakMap<Relation, HistoryMap>>()

/** the map for this pair, cached: relations and targets are immutable, a schema change gives new objects */
export const historyMap = (target: HistoryTarget, relation: Relation): HistoryMap => {
  let byRelation = cache.get(target)
  if (!byRelation) cache.set(target, (byRelation = new WeakMap()))
  let map = byRelation.get(relation)
  if (!map) byRelation.set(relation, (map = build(target, relation)))
  return map
}
