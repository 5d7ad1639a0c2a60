/**
 * Destination auto-create and schema change. Guarantees:
 * - an existing destination table is never altered by `ensureTargetTable`: it is returned as it is;
 * - a missing one is created (with the user types it needs, in the destination schema) in one transaction,
 *   under a destination-wide advisory lock, so concurrent writers never half-create or race each other;
 * - an existing user type with another definition is an error, never redefined;
 * - `addColumns` only adds nullable columns, and reports a column retyped on the source whose destination
 *   type does not already match as `SchemaMismatch` instead of writing values of the wrong type.
 * The client must not be inside a transaction: these functions begin and commit their own.
 */
import { Data, Effect, Either } from "effect"
import type pg from "pg"
import type { TableMapping } from "../config/Config.js"
import type { Column, Relation } from "../domain/Relation.js"
import { formatTypeSql, query, type QueryFailed } from "../lib/Sql.js"
import type { SourceTable, SourceType } from "../source/SourceCatalog.js"
import { describeTypes } from "../source/SourceTypes.js"
import { describeTargetTable, type TargetTable } from "./TargetCatalog.js"
import {
  addColumnSql,
  createTableSql,
  createTypeSql,
  diffRelation,
  retargetTypes,
  sameTypeName,
  typeDifference,
  typesUsedBy,
  type Retarget
} from "./TargetDdl.js"
import { noteDestinationChange } from "./DestinationChanges.js"

export class CreateFailed extends Data.TaggedError("CreateFailed")<{
  readonly table: string
  readonly detail: string
}> {
  override get message() {
    return `destination table ${this.table}: ${this.detail}`
  }
}

export class SchemaMismatch extends Data.TaggedError("SchemaMismatch")<{
  readonly table: string
  readonly column: string
  /** the source type before the change */
  readonly oldType: string
  /** the source type now */
  readonly newType: string
  /** the destination column's type */
  readonly targetType: string
}> {
  override get message() {
    return (
      `destination table ${this.table}: column "${this.column}" changed type on the source from ${this.oldType} ` +
      `to ${this.newType}, the destination column is ${this.targetType}; alter it, then restart the table`
    )
  }
}

/** source type names of relation columns, by `typeOid:typeMod`, and the user types they use (dependencies first) */
export interface ColumnTypes {
  readonly names: ReadonlyMap<string, string>
  readonly types: ReadonlyArray<SourceType>
}

const typeKey = (c: { readonly typeOid: number; readonly typeMod: number }) => `${c.typeOid}:${c.typeMod}`

const NAMES_SQL = `
  select k.oid::int as oid, k.mod::int as mod, ${formatTypeSql("k.oid", "k.mod")} as "typeName"
  from unnest($1::oid[], $2::int[]) as k(oid, mod)`

/** on the source: the type names of `columns` (format_type of their typeOid/typeMod) and the user types behind them */
export const describeColumnTypes = (
  source: pg.ClientBase,
  columns: ReadonlyArray<Pick<Column, "typeOid" | "typeMod">>
): Effect.Effect<ColumnTypes, QueryFailed> =>
  Effect.gen(function* () {
    const rows = yield* query<{ oid: number; mod: number; typeName: string | null }>(source, NAMES_SQL, [
      columns.map((c) => c.typeOid),
      columns.map((c) => c.typeMod)
    ])
    const names = new Map<string, string>()
    for (const r of rows) if (r.typeName !== null) names.set(typeKey({ typeOid: r.oid, typeMod: r.mod }), r.typeName)
    const types = yield* describeTypes(source, [...new Set(columns.map((c) => c.typeOid))])
    return { names, types }
  })

const TYPE_SQL = `
  select t.oid from pg_type t join pg_namespace n on n.oid = t.typnamespace where n.nspname = $1 and t.typname = $2`

/** begin, destination-wide DDL lock, body, commit; rolled back on any failure or interruption */
const ddlTransaction = <A, E>(dest: pg.ClientBase, body: Effect.Effect<A, E | QueryFailed>) =>
  Effect.gen(function* () {
    yield* query(dest, "begin")
    yield* query(dest, "select pg_advisory_xact_lock(hashtext('walferry.ddl'))")
    const result = yield* body
    yield* query(dest, "commit")
    return result
  }).pipe(Effect.onError(() => Effect.ignore(query(dest, "rollback"))))

const failed = (table: string) => (e: QueryFailed | CreateFailed) =>
  e._tag === "CreateFailed" ? e : new CreateFailed({ table, detail: e.message })

/** creates the missing user types in `destSchema`; fails on one that exists with another definition */
export const ensureTypes = (
  dest: pg.ClientBase,
  destSchema: string,
  table: string,
  types: ReadonlyArray<SourceType>,
  retarget: Retarget
) =>
  Effect.forEach(types, (t) =>
    Effect.gen(function* () {
      const [row] = yield* query<{ oid: number }>(dest, TYPE_SQL, [destSchema, t.name])
      if (row === undefined) return yield* query(dest, createTypeSql(t, destSchema, retarget))
      const existing = (yield* describeTypes(dest, [row.oid])).find((e) => e.oid === row.oid)
      const difference = existing ? typeDifference(t, existing, retarget) : "is not an enum, domain or composite type"
      if (difference !== undefined) {
        const detail = `type ${destSchema}.${t.name} ${difference} (source type ${t.schema}.${t.name})`
        return yield* Effect.fail(new CreateFailed({ table, detail }))
      }
      return []
    })
  )

/**
 * The destination table of `mapping`: returned unchanged when it exists (created: false); otherwise, with
 * `autoCreate`, created from the source definition (created: true), else CreateFailed.
 */
export const ensureTargetTable = (
  dest: pg.ClientBase,
  destSchema: string,
  mapping: TableMapping,
  source: SourceTable,
  multiSource: boolean
): Effect.Effect<{ readonly created: boolean; readonly table: TargetTable }, CreateFailed> => {
  const label = `${destSchema}.${mapping.target}`
  return Effect.gen(function* () {
    const existing = yield* describeTargetTable(dest, destSchema, mapping.target)
    if (existing) return { created: false, table: existing }
    if (!mapping.autoCreate)
      return yield* new CreateFailed({ table: label, detail: "does not exist (create it, or enable auto_create)" })
    const retarget = retargetTypes(source.types, destSchema)
    const spec = {
      destSchema,
      target: mapping.target,
      mode: mapping.mode,
      history: mapping.history,
      multiSource,
      source
    }
    const ddl = createTableSql(spec, retarget)
    if (Either.isLeft(ddl)) return yield* new CreateFailed({ table: label, detail: ddl.left })
    const result = yield* ddlTransaction(
      dest,
      Effect.gen(function* () {
        const raced = yield* describeTargetTable(dest, destSchema, mapping.target)
        if (raced) return { created: false, table: raced }
        yield* ensureTypes(dest, destSchema, label, source.types, retarget)
        yield* query(dest, ddl.right)
        const table = yield* describeTargetTable(dest, destSchema, mapping.target)
        if (!table) return yield* new CreateFailed({ table: label, detail: "not found after create" })
        return { created: true, table }
      })
    )
    if (result.created) {
      noteDestinationChange()
      yield* Effect.logInfo(`created destination table ${label} from ${source.schema}.${source.name}`)
    }
    return result
  }).pipe(Effect.mapError(failed(label)))
}

export interface SchemaChange {
  /** the destination table after the change (the same object when nothing was added) */
  readonly table: TargetTable
  readonly added: ReadonlyArray<string>
  readonly dropped: ReadonlyArray<string>
}

/**
 * Schema change on a new Relation message, before applying rows that use it: adds the source columns the
 * destination lacks (with `autoCreate`), logs dropped ones (the destination keeps them), and fails with
 * SchemaMismatch on a column retyped since `previous` whose destination type is not already the new type.
 * `types` comes from `describeColumnTypes` on the source, for the columns of `relation` and of `previous`.
 */
export const addColumns = (
  dest: pg.ClientBase,
  destSchema: string,
  target: TargetTable,
  relation: Relation,
  types: ColumnTypes,
  options: { readonly previous: Relation | undefined; readonly autoCreate: boolean }
): Effect.Effect<SchemaChange, SchemaMismatch | CreateFailed> => {
  const label = `${destSchema}.${target.name}`
  const retarget = retargetTypes(types.types, destSchema)
  const typeOf = (c: Column) => types.names.get(typeKey(c))
  return Effect.gen(function* () {
    const diff = diffRelation(options.previous, relation, target)
    for (const r of diff.retyped) {
      const onTarget = target.columns.find((c) => c.name === r.column)
      const newType = typeOf(r.next) ?? `type oid ${r.next.typeOid}`
      if (onTarget && !sameTypeName(retarget(newType), onTarget.typeName)) {
        const oldType = typeOf(r.previous) ?? `type oid ${r.previous.typeOid}`
        return yield* new SchemaMismatch({
          table: label,
          column: r.column,
          oldType,
          newType,
          targetType: onTarget.typeName
        })
      }
    }
    for (const name of diff.dropped) {
      yield* Effect.logInfo(
        `column "${name}" was dropped on the source; the destination keeps it (NULL or default from now on)`
      )
    }
    if (diff.add.length === 0 || !options.autoCreate) return { table: target, added: [], dropped: diff.dropped }
    const missing = diff.add.find((c) => typeOf(c) === undefined)
    if (missing)
      return yield* new CreateFailed({ table: label, detail: `no source type name for new column "${missing.name}"` })
    const table = yield* ddlTransaction(
      dest,
      Effect.gen(function* () {
        const needed = typesUsedBy(
          types.types,
          diff.add.map((c) => typeOf(c)!)
        )
        yield* ensureTypes(dest, destSchema, label, needed, retarget)
        for (const c of diff.add)
          yield* query(dest, addColumnSql(destSchema, target.name, c.name, retarget(typeOf(c)!)))
        const after = yield* describeTargetTable(dest, destSchema, target.name)
        return after ?? (yield* new CreateFailed({ table: label, detail: "not found after alter" }))
      })
    )
    const added = diff.add.map((c) => c.name)
    yield* Effect.logInfo(`added column(s) ${added.map((n) => `"${n}"`).join(", ")} to ${label}`)
    return { table, added, dropped: diff.dropped }
  }).pipe(
    Effect.mapError((e) => (e._tag === "SchemaMismatch" ? e : failed(label)(e))),
    Effect.annotateLogs({ table: label })
  )
}
