/**
 * User-defined types a set of columns depends on (enums, domains, composites), followed through arrays,
 * domain base types and composite attributes, with enough definition to recreate them, dependencies first.
 * Built-in types (pg_catalog, information_schema) and other kinds (base, range) are not reported.
 */
import { Effect } from "effect"
import type pg from "pg"
import { formatTypeSql, query, type QueryFailed } from "../lib/Sql.js"

export interface EnumType {
  readonly _tag: "Enum"
  readonly oid: number
  readonly schema: string
  readonly name: string
  readonly labels: ReadonlyArray<string>
}

export interface DomainType {
  readonly _tag: "Domain"
  readonly oid: number
  readonly schema: string
  readonly name: string
  /** format_type of the base type, schema-qualified outside pg_catalog: "numeric(10,2)", "public.mood" */
  readonly baseType: string
  readonly notNull: boolean
  /** default expression, undefined without one */
  readonly default: string | undefined
  /** CHECK constraints: name and `pg_get_constraintdef` text ("CHECK ((VALUE > 0))") */
  readonly constraints: ReadonlyArray<{ readonly name: string; readonly definition: string }>
}

export interface CompositeType {
  readonly _tag: "Composite"
  readonly oid: number
  readonly schema: string
  readonly name: string
  readonly attributes: ReadonlyArray<{ readonly name: string; readonly typeOid: number; readonly typeName: string }>
}

export type SourceType = EnumType | DomainType | CompositeType

const TYPES_SQL = `
  select t.oid, n.nspname as schema, t.typname as name, t.typtype as kind, t.typcategory = 'A' as "isArray",
    t.typelem as elem, t.typbasetype as base, t.typrelid as relid, t.typnotnull as "notNull", t.typdefault as "default",
    case when t.typtype = 'd' then ${formatTypeSql("t.typbasetype", "t.typtypmod")} end as "baseType"
  from pg_type t join pg_namespace n on n.oid = t.typnamespace
  where t.oid = any($1::oid[]) and n.nspname not in ('pg_catalog', 'information_schema')`

const ATTRIBUTES_SQL = `
  select a.attrelid as relid, a.attname as name, a.atttypid as "typeOid",
    ${formatTypeSql("a.atttypid", "a.atttypmod")} as "typeName"
  from pg_attribute a
  where a.attrelid = any($1::oid[]) and a.attnum > 0 and not a.attisdropped
  order by a.attrelid, a.attnum`

const LABELS_SQL = `
  select enumtypid as oid, enumlabel as label from pg_enum where enumtypid = any($1::oid[]) order by enumtypid, enumsortorder`

const CONSTRAINTS_SQL = `
  select contypid as oid, conname as name, pg_get_constraintdef(oid) as definition
  from pg_constraint where contypid = any($1::oid[]) and contype = 'c' order by contypid, conname`

interface TypeRow {
  readonly oid: number
  readonly schema: string
  readonly name: string
  readonly kind: string
  readonly isArray: boolean
  readonly elem: number
  readonly base: number
  readonly relid: number
  readonly notNull: boolean
  readonly default: string | null
  readonly baseType: string | null
}

interface LabelRow {
  readonly oid: number
  readonly label: string
}

interface ConstraintRow {
  readonly oid: number
  readonly name: string
  readonly definition: string
}

interface AttributeRow {
  readonly relid: number
  readonly name: string
  readonly typeOid: number
  readonly typeName: string
}

const groupBy = <A>(rows: ReadonlyArray<A>, key: (a: A) => number): Map<number, Array<A>> => {
  const map = new Map<number, Array<A>>()
  for (const row of rows) map.set(key(row), [...(map.get(key(row)) ?? []), row])
  return map
}

const unique = (oids: ReadonlyArray<number>): Array<number> => [...new Set(oids)]

const dependenciesOf = (t: TypeRow, attributes: ReadonlyArray<AttributeRow>): ReadonlyArray<number> =>
  t.isArray ? [t.elem] : t.kind === "d" ? [t.base] : t.kind === "c" ? attributes.map((a) => a.typeOid) : []

const isReported = (t: TypeRow | undefined): t is TypeRow =>
  t !== undefined && !t.isArray && (t.kind === "e" || t.kind === "d" || t.kind === "c")

/** depth-first post-order: every type after the types it depends on */
const dependencyOrder = (
  roots: ReadonlyArray<number>,
  depends: ReadonlyMap<number, ReadonlyArray<number>>
): Array<number> => {
  const ordered: Array<number> = []
  const seen = new Set<number>()
  const visit = (oid: number): void => {
    if (seen.has(oid)) return
    seen.add(oid)
    for (const dep of depends.get(oid) ?? []) visit(dep)
    ordered.push(oid)
  }
  roots.forEach(visit)
  return ordered
}

/** the user-defined types behind `typeOids`, each type before the types that use it */
export const describeTypes = (
  client: pg.ClientBase,
  typeOids: ReadonlyArray<number>
): Effect.Effect<ReadonlyArray<SourceType>, QueryFailed> =>
  Effect.gen(function* () {
    const rows = new Map<number, TypeRow>()
    const attributes = new Map<number, ReadonlyArray<AttributeRow>>()
    const depends = new Map<number, ReadonlyArray<number>>()
    const queried = new Set<number>()
    let frontier = unique(typeOids)
    while (frontier.length > 0) {
      frontier.forEach((oid) => queried.add(oid))
      const found = yield* query<TypeRow>(client, TYPES_SQL, [frontier])
      const relids = found.filter((t) => t.kind === "c").map((t) => t.relid)
      const attrs = relids.length === 0 ? [] : yield* query<AttributeRow>(client, ATTRIBUTES_SQL, [relids])
      const attrsByRel = groupBy(attrs, (a) => a.relid)
      for (const t of found) {
        rows.set(t.oid, t)
        if (t.kind === "c") attributes.set(t.oid, attrsByRel.get(t.relid) ?? [])
        depends.set(t.oid, dependenciesOf(t, attributes.get(t.oid) ?? []))
      }
      frontier = unique(found.flatMap((t) => depends.get(t.oid) ?? [])).filter((oid) => !queried.has(oid))
    }
    const ordered = dependencyOrder(typeOids, depends)
      .map((oid) => rows.get(oid))
      .filter(isReported)
    const enums = ordered.filter((t) => t.kind === "e").map((t) => t.oid)
    const domains = ordered.filter((t) => t.kind === "d").map((t) => t.oid)
    const labels = groupBy(enums.length === 0 ? [] : yield* query<LabelRow>(client, LABELS_SQL, [enums]), (r) => r.oid)
    const checks = groupBy(
      domains.length === 0 ? [] : yield* query<ConstraintRow>(client, CONSTRAINTS_SQL, [domains]),
      (r) => r.oid
    )
    return ordered.map((t): SourceType => {
      const head = { oid: t.oid, schema: t.schema, name: t.name }
      switch (t.kind) {
        case "e":
          return { _tag: "Enum", ...head, labels: (labels.get(t.oid) ?? []).map((r) => r.label) }
        case "c":
          return {
            _tag: "Composite",
            ...head,
            attributes: (attributes.get(t.oid) ?? []).map(({ relid: _, ...a }) => a)
          }
        default:
          return {
            _tag: "Domain",
            ...head,
            baseType: t.baseType ?? "",
            notNull: t.notNull,
            default: t.default ?? undefined,
            constraints: (checks.get(t.oid) ?? []).map(({ name, definition }) => ({ name, definition }))
          }
      }
    })
  })
