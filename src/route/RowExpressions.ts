/**
 * kuvasz-streamer's CEL `filter` and `set`, compiled once per source relation against its columns.
 *
 * Variables: every source column under its own name (a name CEL reserves, such as `type`, gets a `_`
 * prefix: `_type`), typed from its Postgres type (see CelValues); a nullable column is `dyn` so its NULL is
 * CEL `null` (`amount != null && amount > 10.0`), a NOT NULL one is typed and checked. `now` is the
 * source commit time of the change (of the snapshot for the initial copy), so a replay computes the same.
 * An expression that does not parse or type-check is an ExpressionInvalid naming table, key and expression;
 * a filter must be boolean. A `set` column whose expression reads only replica-identity columns is a key
 * column of the projected row: updates and deletes find their destination row by those computed values.
 */
import { Data } from "effect"
import { Environment, type ParseResult } from "@marcbachmann/cel-js"
import type { Tuple } from "../domain/Change.js"
import type { Column, Relation } from "../domain/Relation.js"
import { celKindOf, celTypeName, fromCel, toCel, type CelKind } from "./CelValues.js"

export interface Expressions {
  readonly filter: string | undefined
  /** destination column → expression, in map order */
  readonly set: ReadonlyArray<readonly [string, string]> | undefined
}

export interface ExpressionColumn {
  readonly name: string
  readonly typeOid: number
  readonly notNull: boolean
  /** part of the replica identity */
  readonly isKey: boolean
}

export class ExpressionInvalid extends Data.TaggedError("ExpressionInvalid")<{
  readonly table: string
  /** `filter` or `set.<column>` */
  readonly key: string
  readonly expression: string
  readonly detail: string
}> {
  override get message() {
    return `table ${this.table}: ${this.key} expression "${this.expression}" is invalid: ${this.detail}`
  }
}

/** a row whose evaluation failed (a NULL an operator cannot take, a division by zero, …) */
export class RowEvalError extends Error {
  override readonly name = "RowEvalError"
}

export interface SetProgram {
  readonly column: string
  readonly expression: string
  readonly program: ParseResult
  /** reads replica-identity columns only: a key of the projected row */
  readonly fromKey: boolean
}

export interface CompiledExpressions {
  /** per source column: its CEL variable, undefined when its name is no CEL identifier */
  readonly variables: ReadonlyArray<string | undefined>
  readonly kinds: ReadonlyArray<CelKind>
  readonly filter: ParseResult | undefined
  readonly filterText: string | undefined
  readonly set: ReadonlyArray<SetProgram> | undefined
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/
const RESERVED = new Set(
  (
    "type int uint double bool string bytes list map null_type dyn now in as break const continue else for " +
    "function if import let loop package namespace return var void while true false null"
  ).split(" ")
)

/** the CEL variable of a column name (kuvasz: `type` → `_type`) */
export const variableName = (column: string): string | undefined =>
  IDENT.test(column) && !RESERVED.has(column) ? column : IDENT.test(`_${column}`) ? `_${column}` : undefined

const firstLine = (e: unknown) => (e instanceof Error ? e.message : String(e)).split("\n")[0]!

const environment = (columns: ReadonlyArray<ExpressionColumn>, withNow: boolean): Environment => {
  const env = new Environment()
  const seen = new Set<string>()
  for (const c of columns) {
    const name = variableName(c.name)
    if (name === undefined || seen.has(name)) continue
    seen.add(name)
    env.registerVariable(name, c.notNull ? celTypeName(celKindOf(c.typeOid)) : "dyn")
  }
  if (withNow) env.registerVariable("now", "google.protobuf.Timestamp")
  return env
}

/** syntax only (every name is dyn), for the configuration loader: the error text or undefined */
export const syntaxError = (expression: string): string | undefined => {
  const result = new Environment({ unlistedVariablesAreDyn: true }).check(expression)
  return result.valid ? undefined : firstLine(result.error)
}

/** compiles a table's expressions against its source columns; throws ExpressionInvalid */
export const compileExpressions = (
  table: string,
  expressions: Expressions,
  columns: ReadonlyArray<ExpressionColumn>,
  fullIdentity: boolean
): CompiledExpressions => {
  const env = environment(columns, true)
  const keyEnv = environment(
    columns.filter((c) => c.isKey),
    false
  )
  const constEnv = new Environment()
  const compile = (key: string, expression: string): ParseResult => {
    const invalid = (detail: string) => new ExpressionInvalid({ table, key, expression, detail })
    const checked = env.check(expression)
    if (!checked.valid) throw invalid(firstLine(checked.error))
    if (key === "filter" && checked.type !== "bool" && checked.type !== "dyn") {
      throw invalid(`a filter must be boolean, this one is ${checked.type}`)
    }
    try {
      return env.parse(expression)
    } catch (e) {
      throw invalid(firstLine(e))
    }
  }
  const set = expressions.set?.map(([column, expression]): SetProgram => {
    const program = compile(`set.${column}`, expression)
    const fromKey = keyEnv.check(expression).valid && !constEnv.check(expression).valid
    return { column, expression, program, fromKey }
  })
  if (set && !fullIdentity && columns.some((c) => c.isKey) && !set.some((s) => s.fromKey)) {
    throw new ExpressionInvalid({
      table,
      key: "set",
      expression: set.map((s) => `${s.column}: ${s.expression}`).join(", "),
      detail:
        `no column is computed from the source key (${columns.filter((c) => c.isKey).map((c) => c.name)}) ` +
        "alone, so updates and deletes could not find their destination rows"
    })
  }
  return {
    variables: columns.map((c) => variableName(c.name)),
    kinds: columns.map((c) => celKindOf(c.typeOid)),
    filter: expressions.filter === undefined ? undefined : compile("filter", expressions.filter),
    filterText: expressions.filter,
    set
  }
}

/** the CEL variables of a row; a value that was not sent (unchanged TOAST) is left unbound */
export const bindRow = (c: CompiledExpressions, row: Tuple, now: Date): Record<string, unknown> => {
  const ctx: Record<string, unknown> = { now }
  for (let i = 0; i < c.variables.length; i++) {
    const name = c.variables[i]
    const v = row[i]
    if (name !== undefined && v !== undefined) ctx[name] = toCel(c.kinds[i]!, v)
  }
  return ctx
}

const run = (program: ParseResult, ctx: Record<string, unknown>, what: string): unknown => {
  try {
    return program(ctx)
  } catch (e) {
    throw new RowEvalError(`${what}: ${firstLine(e)}`)
  }
}

/** whether the row passes the filter (true without one) */
export const passes = (c: CompiledExpressions, ctx: Record<string, unknown>): boolean => {
  if (c.filter === undefined) return true
  const result = run(c.filter, ctx, `filter "${c.filterText}"`)
  if (typeof result !== "boolean") throw new RowEvalError(`filter "${c.filterText}" gave ${typeof result}, not bool`)
  return result
}

/** the `set` values in set order; with keyOnly only the key columns are computed (the others are null) */
export const project = (c: CompiledExpressions, ctx: Record<string, unknown>, keyOnly: boolean): Tuple => {
  const set = c.set!
  const out = new Array<string | null>(set.length)
  for (let i = 0; i < set.length; i++) {
    const s = set[i]!
    out[i] = keyOnly && !s.fromKey ? null : fromCel(run(s.program, ctx, `set.${s.column} "${s.expression}"`))
  }
  return out
}

/** the relation the projected rows belong to: the `set` columns as text, keys where computed from the key */
export const projectedRelation = (source: Relation, c: CompiledExpressions): Relation => {
  if (c.set === undefined) return source
  const columns: Array<Column> = c.set.map((s) => ({ name: s.column, typeOid: 25, typeMod: -1, isKey: s.fromKey }))
  return { ...source, columns }
}
