/**
 * A destination table as the apply statements name it: quoted identifiers, and per column the cast type of a
 * written value (without type modifier, so the column's own assignment coercion applies) and of a compared
 * value (the exact type). Built once per table.
 */
import type { ApplyTarget } from "../ApplyTarget.js"
import { quoteIdent } from "../../lib/Sql.js"

export interface Sql {
  readonly text: string
  readonly values: Array<unknown>
}

export interface TargetSql {
  readonly table: string
  /** quoted column names by destination position */
  readonly names: ReadonlyArray<string>
  /** cast types of written values (format_type text without type modifiers) */
  readonly assign: ReadonlyArray<string>
  /** cast types of compared values (exact format_type text) */
  readonly match: ReadonlyArray<string>
}

export { quoteIdent }

/** format_type text without type modifiers, keeping unlimited-length meaning for char and bit */
export const assignType = (typeName: string): string => {
  let out = ""
  let depth = 0
  let quoted = false
  for (const ch of typeName) {
    if (ch === '"') quoted = !quoted
    if (!quoted && ch === "(") depth++
    else if (!quoted && ch === ")") depth--
    else if (depth === 0) out += ch
  }
  out = out.trim()
  const base = out.replace(/(\[\])+$/, "")
  const dims = out.slice(base.length)
  if (/^(character|char|national character|nchar)$/i.test(base)) return `pg_catalog.bpchar${dims}`
  if (/^bit$/i.test(base)) return `pg_catalog."bit"${dims}`
  return out
}

const cache = new WeakMap<ApplyTarget, TargetSql>()

export const targetSql = (target: ApplyTarget): TargetSql => {
  let sql = cache.get(target)
  if (!sql) {
    sql = {
      table: `${quoteIdent(target.schema)}.${quoteIdent(target.name)}`,
      names: target.columns.map((c) => quoteIdent(c.name)),
      assign: target.columns.map((c) => assignType(c.typeName)),
      match: target.columns.map((c) => c.typeName)
    }
    cache.set(target, sql)
  }
  return sql
}
