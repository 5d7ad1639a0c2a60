/**
 * Pure DDL builders for destination auto-create and schema change. Every identifier is quoted; the only
 * literals are enum labels, written as E'' strings with quotes and backslashes escaped (safe whatever
 * standard_conforming_strings says). Source user types are re-homed into the destination schema.
 * Source defaults, serials, identities and generation expressions are never copied: values come from the source.
 */
import { Either } from "effect"
import type { HistoryColumns, TableMode } from "../config/Config.js"
import type { Column, Relation } from "../domain/Relation.js"
import { qualified, quoteIdent, quoteIdents } from "../lib/Sql.js"
import type { CompositeType, DomainType, SourceTable, SourceType } from "../source/SourceCatalog.js"

const IDENT = String.raw`("(?:[^"]|"")*"|[a-z_][a-z0-9_$]*)`
const QUALIFIED_TYPE = new RegExp(`^${IDENT}\\.${IDENT}(.*)$`, "s")

const unquote = (ident: string): string => (ident.startsWith('"') ? ident.slice(1, -1).replace(/""/g, '"') : ident)

/** `schema.name[]` (as format_type prints a user type) split into its parts; undefined for built-in names */
export const parseQualifiedType = (
  typeName: string
): { readonly schema: string; readonly name: string; readonly suffix: string } | undefined => {
  const m = QUALIFIED_TYPE.exec(typeName)
  return m ? { schema: unquote(m[1]!), name: unquote(m[2]!), suffix: m[3]! } : undefined
}

/** the same type name, compared on unquoted parts: `public.mood` equals `"public"."mood"` */
export const sameTypeName = (a: string, b: string): boolean => {
  const norm = (t: string) => {
    const p = parseQualifiedType(t)
    return p ? JSON.stringify([p.schema, p.name, p.suffix]) : t
  }
  return norm(a) === norm(b)
}

export type Retarget = (typeName: string) => string

/** rewrites names of the given source user types (and their arrays) into `destSchema`; other names unchanged */
export const retargetTypes = (types: ReadonlyArray<SourceType>, destSchema: string): Retarget => {
  const moved = new Set(types.map((t) => JSON.stringify([t.schema, t.name])))
  return (typeName) => {
    const p = parseQualifiedType(typeName)
    return p && moved.has(JSON.stringify([p.schema, p.name])) ? `${qualified(destSchema, p.name)}${p.suffix}` : typeName
  }
}

/** the types of `types` (dependencies first) that `typeNames` use, directly or through attributes and base types */
export const typesUsedBy = (types: ReadonlyArray<SourceType>, typeNames: ReadonlyArray<string>): Array<SourceType> => {
  const keyOf = (typeName: string) => {
    const p = parseQualifiedType(typeName)
    return p && JSON.stringify([p.schema, p.name])
  }
  const used = new Set(typeNames.map(keyOf))
  for (const t of [...types].reverse()) {
    if (!used.has(JSON.stringify([t.schema, t.name]))) continue
    if (t._tag === "Composite") t.attributes.forEach((a) => used.add(keyOf(a.typeName)))
    if (t._tag === "Domain") used.add(keyOf(t.baseType))
  }
  return types.filter((t) => used.has(JSON.stringify([t.schema, t.name])))
}

/** an E'' literal, safe for any text without NUL */
export const quoteLiteral = (value: string): string => `E'${value.replace(/\\/g, "\\\\").replace(/'/g, "''")}'`

const stripNotValid = (definition: string) => definition.replace(/\s+NOT VALID$/i, "")

export const createTypeSql = (t: SourceType, destSchema: string, retarget: Retarget): string => {
  const name = qualified(destSchema, t.name)
  switch (t._tag) {
    case "Enum":
      return `create type ${name} as enum (${t.labels.map(quoteLiteral).join(", ")})`
    case "Composite": {
      const attributes = t.attributes.map((a) => `${quoteIdent(a.name)} ${retarget(a.typeName)}`)
      return `create type ${name} as (${attributes.join(", ")})`
    }
    case "Domain": {
      const checks = t.constraints.map((c) => ` constraint ${quoteIdent(c.name)} ${stripNotValid(c.definition)}`)
      return `create domain ${name} as ${retarget(t.baseType)}${t.notNull ? " not null" : ""}${checks.join("")}`
    }
  }
}

/** why an existing destination type differs from the source type it should mirror, undefined when equal */
export const typeDifference = (source: SourceType, existing: SourceType, retarget: Retarget): string | undefined => {
  const kind = { Enum: "an enum", Composite: "a composite", Domain: "a domain" }
  if (source._tag !== existing._tag) return `is ${kind[existing._tag]}, the source type is ${kind[source._tag]}`
  const show = (xs: ReadonlyArray<string>) => `(${xs.join(", ")})`
  const differs = (what: string, want: ReadonlyArray<string>, have: ReadonlyArray<string>) =>
    want.length === have.length && want.every((w, i) => w === have[i])
      ? undefined
      : `has ${what} ${show(have)}, the source has ${show(want)}`
  if (source._tag === "Enum" && existing._tag === "Enum") return differs("labels", source.labels, existing.labels)
  if (source._tag === "Composite" && existing._tag === "Composite") {
    const attrs = (t: CompositeType, rt: Retarget) => t.attributes.map((a) => `${quoteIdent(a.name)} ${rt(a.typeName)}`)
    const want = source.attributes
    const have = existing.attributes
    const same =
      want.length === have.length &&
      want.every((a, i) => a.name === have[i]!.name && sameTypeName(retarget(a.typeName), have[i]!.typeName))
    return same
      ? undefined
      : `has attributes ${show(attrs(existing, (x) => x))}, the source has ${show(attrs(source, retarget))}`
  }
  if (source._tag === "Domain" && existing._tag === "Domain") {
    if (!sameTypeName(retarget(source.baseType), existing.baseType))
      return `has base type ${existing.baseType}, the source has ${source.baseType}`
    if (source.notNull !== existing.notNull)
      return existing.notNull ? "is NOT NULL, the source domain is not" : "allows NULL, the source domain is NOT NULL"
    const defs = (t: DomainType) => t.constraints.map((c) => stripNotValid(c.definition)).sort()
    return differs("checks", defs(source), defs(existing))
  }
  return undefined
}

/** the surrogate key of a history table: the history columns' common `prefix_` + "id" (`kvsz_id`) */
export const historyIdColumn = (history: HistoryColumns): string => {
  const names = [history.start, history.end, history.deleted, history.lsn]
  let prefix = names[0]!
  for (const n of names) while (!n.startsWith(prefix)) prefix = prefix.slice(0, -1)
  const cut = prefix.lastIndexOf("_")
  return cut > 0 ? `${prefix.slice(0, cut + 1)}id` : "walferry_history_id"
}

export interface TableSpec {
  readonly destSchema: string
  readonly target: string
  readonly mode: TableMode
  readonly history: HistoryColumns
  readonly multiSource: boolean
  readonly source: SourceTable
}

export const SID = "sid"

/** CREATE TABLE mirroring the source (plus sid and history columns); Left names a column name clash */
export const createTableSql = (spec: TableSpec, retarget: Retarget): Either.Either<string, string> => {
  const { source, history } = spec
  const key = source.primaryKey.length > 0 ? source.primaryKey : source.identityColumns
  const isHistory = spec.mode === "history"
  const historyId = historyIdColumn(history)
  const added = [
    ...(spec.multiSource ? [SID] : []),
    ...(isHistory ? [historyId, history.start, history.end, history.deleted, history.lsn] : [])
  ]
  const names = [...added, ...source.columns.map((c) => c.name)]
  const clash = names.find((n, i) => names.indexOf(n) !== i)
  if (clash !== undefined) return Either.left(`column "${clash}" is both a source column and a column walferry adds`)
  if (source.columns.length === 0) return Either.left("the source table has no columns")
  const columns = [
    ...(spec.multiSource ? [`${quoteIdent(SID)} text not null`] : []),
    ...source.columns.map(
      (c) => `${quoteIdent(c.name)} ${retarget(c.typeName)}${c.notNull && !c.isGenerated ? " not null" : ""}`
    ),
    ...(isHistory
      ? [
          `${quoteIdent(historyId)} bigserial`,
          `${quoteIdent(history.start)} timestamptz not null default '1900-01-01 00:00:00+00'`,
          `${quoteIdent(history.end)} timestamptz not null default '9999-01-01 00:00:00+00'`,
          `${quoteIdent(history.deleted)} boolean not null default false`,
          `${quoteIdent(history.lsn)} numeric`
        ]
      : [])
  ]
  const pk = [...(spec.multiSource ? [SID] : []), ...key, ...(isHistory ? [historyId] : [])]
  const hasPk = key.length > 0 || isHistory
  const body = [...columns, ...(hasPk ? [`primary key (${quoteIdents(pk)})`] : [])]
  return Either.right(`create table ${qualified(spec.destSchema, spec.target)} (\n  ${body.join(",\n  ")}\n)`)
}

export const addColumnSql = (destSchema: string, table: string, column: string, typeName: string): string =>
  `alter table ${qualified(destSchema, table)} add column if not exists ${quoteIdent(column)} ${typeName}`

export interface Retyped {
  readonly column: string
  readonly previous: Column
  readonly next: Column
}

export interface RelationDiff {
  /** source columns the destination lacks, in source order */
  readonly add: ReadonlyArray<Column>
  /** columns of the previous relation the new one no longer has */
  readonly dropped: ReadonlyArray<string>
  /** columns whose type (oid or modifier) changed since the previous relation */
  readonly retyped: ReadonlyArray<Retyped>
}

export const diffRelation = (
  previous: Relation | undefined,
  next: Relation,
  target: { readonly columns: ReadonlyArray<{ readonly name: string }> }
): RelationDiff => {
  const onTarget = new Set(target.columns.map((c) => c.name))
  const before = new Map((previous?.columns ?? []).map((c) => [c.name, c]))
  const after = new Set(next.columns.map((c) => c.name))
  return {
    add: next.columns.filter((c) => !onTarget.has(c.name)),
    dropped: (previous?.columns ?? []).filter((c) => !after.has(c.name)).map((c) => c.name),
    retyped: next.columns.flatMap((c) => {
      const old = before.get(c.name)
      return old && (old.typeOid !== c.typeOid || old.typeMod !== c.typeMod)
        ? [{ column: c.name, previous: old, next: c }]
        : []
    })
  }
}
