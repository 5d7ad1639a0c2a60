/**
 * What a captured source DDL does to one destination table, decided from the table's columns before and after
 * the command (matched by attnum, so a rename is a rename, never a drop and an add) and from the destination
 * table as it is now. Pure; every statement is idempotent against the destination's current state, so a DDL
 * replayed after a crash between its commit and the confirmation finds nothing left to do.
 *
 * Applied: ADD COLUMN (with auto_create, as today), DROP COLUMN, RENAME COLUMN, ALTER COLUMN TYPE (the
 * destination casts; if it cannot, the statement fails and stops the table). Columns the destination does not
 * have (a column subset) are ignored. History tables and targets shared by several sources keep a dropped
 * column (made nullable) so no version or other source loses it; a shared target gets a renamed column as a
 * new one. Unsupported (the table stops, naming the statement): DROP TABLE, renaming or moving the table,
 * dropping a destination key column, a rename onto a column the destination already has.
 */
import { Either } from "effect"
import type { HistoryColumns, TableMode } from "../config/Config.js"
import type { DdlColumn, DdlEvent } from "../domain/DdlEvent.js"
import { qualified, quoteIdent } from "../lib/Sql.js"
import { parseQualifiedType, sameTypeName } from "../target/TargetDdl.js"

export interface PlanTarget {
  readonly schema: string
  readonly name: string
  readonly columns: ReadonlyArray<{ readonly name: string; readonly typeName: string; readonly notNull: boolean }>
  readonly primaryKey: ReadonlyArray<string>
}

export interface PlanOptions {
  readonly mode: TableMode
  readonly history: HistoryColumns
  readonly multiSource: boolean
  readonly autoCreate: boolean
}

export interface DdlStep {
  readonly sql: string
  /** for the log: what the step does, in words */
  readonly what: string
}

export interface DdlPlan {
  readonly steps: ReadonlyArray<DdlStep>
  /** source type oids of added or retyped columns that are user types (to create on the destination first) */
  readonly userTypes: ReadonlyArray<number>
}

/** first oid of objects users create (FirstNormalObjectId) */
const FIRST_USER_OID = 16384

/** a source type name with its schema replaced by the destination schema (user types are re-homed there) */
export const destinationType = (typeName: string, destSchema: string): string => {
  const p = parseQualifiedType(typeName)
  return p ? `${qualified(destSchema, p.name)}${p.suffix}` : typeName
}

/** the plan, or Left(why it cannot be applied) */
export const planDdl = (event: DdlEvent, target: PlanTarget, options: PlanOptions): Either.Either<DdlPlan, string> => {
  const none = Either.right({ steps: [], userTypes: [] })
  if (event.command === "DROP TABLE" || event.after === null) {
    return Either.left(`the source table ${event.schema}.${event.name} was dropped; remove it from the mapping`)
  }
  if (event.newSchema !== event.schema || event.newName !== event.name) {
    return Either.left(
      `the source table ${event.schema}.${event.name} was renamed to ${event.newSchema}.${event.newName}; map the new name`
    )
  }
  if (event.before === null) return none
  const table = qualified(target.schema, target.name)
  const onTarget = new Map(target.columns.map((c) => [c.name, c]))
  const own = new Set(["sid", options.history.start, options.history.end, options.history.deleted, options.history.lsn])
  const keep = options.mode === "history" || options.multiSource
  const before = new Map(event.before.map((c) => [c.attnum, c]))
  const after = new Map(event.after.map((c) => [c.attnum, c]))
  const steps: Array<DdlStep> = []
  const userTypes = new Set<number>()
  const typeOf = (c: DdlColumn) => {
    if (c.typeOid >= FIRST_USER_OID) userTypes.add(c.typeOid)
    return destinationType(c.type, target.schema)
  }
  const add = (c: DdlColumn) => {
    if (onTarget.has(c.name) || own.has(c.name)) return
    steps.push({
      sql: `alter table ${table} add column if not exists ${quoteIdent(c.name)} ${typeOf(c)}`,
      what: `added column "${c.name}"`
    })
  }
  const release = (name: string, why: string) => {
    if (onTarget.get(name)?.notNull !== true) return
    steps.push({ sql: `alter table ${table} alter column ${quoteIdent(name)} drop not null`, what: why })
  }

  for (const [n, old] of before) {
    if (after.has(n) || !onTarget.has(old.name) || own.has(old.name)) continue
    if (target.primaryKey.includes(old.name)) {
      return Either.left(`column "${old.name}" was dropped on the source but is part of the destination's key`)
    }
    if (keep) release(old.name, `kept dropped column "${old.name}" (nullable from now on)`)
    else
      steps.push({
        sql: `alter table ${table} drop column if exists ${quoteIdent(old.name)}`,
        what: `dropped column "${old.name}"`
      })
  }
  for (const [n, next] of after) {
    const old = before.get(n)
    if (old === undefined || old.name === next.name || !onTarget.has(old.name) || own.has(old.name)) continue
    if (onTarget.has(next.name)) {
      return Either.left(`column "${old.name}" was renamed to "${next.name}", which the destination already has`)
    }
    if (keep && options.multiSource) {
      add(next)
      release(old.name, `kept column "${old.name}" other sources may still send (nullable from now on)`)
    } else {
      steps.push({
        sql: `alter table ${table} rename column ${quoteIdent(old.name)} to ${quoteIdent(next.name)}`,
        what: `renamed column "${old.name}" to "${next.name}"`
      })
    }
  }
  for (const [n, next] of after) {
    const old = before.get(n)
    if (old === undefined || (old.typeOid === next.typeOid && old.typeMod === next.typeMod)) continue
    const current = onTarget.get(next.name) ?? (old.name !== next.name ? onTarget.get(old.name) : undefined)
    if (current === undefined || own.has(next.name)) continue
    const type = typeOf(next)
    if (sameTypeName(type, current.typeName)) continue
    const column = quoteIdent(next.name)
    steps.push({
      sql: `alter table ${table} alter column ${column} type ${type} using ${column}::${type}`,
      what: `changed the type of column "${next.name}" to ${type}`
    })
  }
  if (options.autoCreate) for (const [n, next] of after) if (!before.has(n)) add(next)
  return Either.right({ steps, userTypes: [...userTypes] })
}
