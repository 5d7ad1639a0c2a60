/**
 * How one source relation feeds one destination table, computed once per (Relation, ApplyTarget) pair.
 * Destination columns are fed by the source column of the same name, `sid` by the change's source id;
 * source columns missing on the destination are dropped and extra destination columns keep their defaults.
 *
 * Row matching:
 * - keyed: by the source relation's replica identity key (plus sid); for REPLICA IDENTITY FULL or keyless
 *   relations, by the destination primary key when the relation feeds all of its columns;
 * - full-row: otherwise, by the complete old image (REPLICA IDENTITY FULL without a usable key).
 */
import { qualifiedName, type Relation } from "../domain/Relation.js"
import { SID_COLUMN, type ApplyTarget } from "./ApplyTarget.js"

export type MatchMode = "keyed" | "full-row"

/** sourceOf value of the sid column */
export const FROM_SID = -2
/** sourceOf value of a destination column the relation does not feed */
export const UNMAPPED = -1

export interface ColumnMap {
  readonly relation: Relation
  readonly target: ApplyTarget
  readonly mode: MatchMode
  /** per destination column: source column index, FROM_SID, or UNMAPPED */
  readonly sourceOf: Int32Array
  /** destination positions written by this relation (source-fed and sid), ascending */
  readonly mapped: ReadonlyArray<number>
  /** destination positions identifying a row in keyed mode (sid first when the target has it) */
  readonly key: ReadonlyArray<number>
  /** destination positions of the upsert conflict target; empty when the relation cannot upsert */
  readonly conflict: ReadonlyArray<number>
  /** conflict target and key are the same column set, so a folded statement never repeats a conflict key */
  readonly conflictIsKey: boolean
  readonly sidPosition: number
  /** maps with equal signatures produce rows that can share a statement */
  readonly signature: string
}

export class ColumnMapError extends Error {
  override readonly name = "ColumnMapError"
}

const sameSet = (a: ReadonlyArray<number>, b: ReadonlyArray<number>) =>
  a.length === b.length && a.every((x) => b.includes(x))

const build = (relation: Relation, target: ApplyTarget): ColumnMap => {
  const fail = (what: string): never => {
    throw new ColumnMapError(`walferry: table ${qualifiedName(target)}: ${what} (source ${qualifiedName(relation)})`)
  }
  const positionOf = new Map<string, number>()
  target.columns.forEach((c, i) => positionOf.set(c.name, i))
  const sidPosition = target.hasSid ? (positionOf.get(SID_COLUMN) ?? fail(`has no "${SID_COLUMN}" column`)) : -1
  const sourceOf = new Int32Array(target.columns.length).fill(UNMAPPED)
  relation.columns.forEach((c, i) => {
    const p = positionOf.get(c.name)
    if (p !== undefined && p !== sidPosition) sourceOf[p] = i
  })
  if (sidPosition >= 0) sourceOf[sidPosition] = FROM_SID
  const mapped: Array<number> = []
  sourceOf.forEach((s, p) => {
    if (s !== UNMAPPED) mapped.push(p)
  })
  if (mapped.length === (sidPosition >= 0 ? 1 : 0)) fail("no column in common with the source")

  const pk = target.primaryKey.map((n) => positionOf.get(n) ?? fail(`key column "${n}" is not a column`))
  const conflict = pk.length > 0 && pk.every((p) => sourceOf[p] !== UNMAPPED) ? pk : []
  const sidKey = sidPosition >= 0 ? [sidPosition] : []
  const identity = relation.replicaIdentity === "f" ? [] : relation.columns.filter((c) => c.isKey)
  let key: ReadonlyArray<number>
  if (identity.length > 0) {
    key = [...sidKey, ...identity.map((c) => positionOf.get(c.name) ?? fail(`key column "${c.name}" is missing`))]
  } else {
    key = conflict
  }
  const mode: MatchMode = key.length > 0 ? "keyed" : "full-row"
  return {
    relation,
    target,
    mode,
    sourceOf,
    mapped,
    key,
    conflict,
    conflictIsKey: sameSet(conflict, key),
    sidPosition,
    signature: `${mode}|${mapped.join(",")}|${key.join(",")}`
  }
}

const cache = new WeakMap<ApplyTarget, WeakMap<Relation, ColumnMap>>()

/** the map for this pair, cached: relations and targets are immutable, a schema change gives new objects */
export const columnMap = (relation: Relation, target: ApplyTarget): ColumnMap => {
  let byRelation = cache.get(target)
  if (!byRelation) cache.set(target, (byRelation = new WeakMap()))
  let map = byRelation.get(relation)
  if (!map) byRelation.set(relation, (map = build(relation, target)))
  return map
}
