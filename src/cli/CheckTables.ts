/**
 * Per-table findings of `walferry check`, as pure functions of the catalogs: can the source table be
 * published and its updates/deletes keyed, and can the destination table take its rows.
 */
import type { TableMapping } from "../config/Config.js"
import type { SourceTable } from "../source/SourceCatalog.js"
import type { TargetTable } from "../target/TargetCatalog.js"
import { error, info, warning, type Issue } from "./CheckReport.js"

export interface SourceAccess {
  readonly user: string
  readonly owner: boolean
  readonly select: boolean
}

export interface TargetAccess {
  readonly user: string
  readonly insert: boolean
  readonly update: boolean
  readonly delete: boolean
}

const list = (names: ReadonlyArray<string>) => names.join(", ")

/** "source column a is" / "source columns a, b are" */
const columns = (what: string, names: ReadonlyArray<string>) =>
  names.length === 1 ? `${what} column ${names[0]} is` : `${what} columns ${list(names)} are`

const INSERT_ONLY =
  "insert-only: UPDATE and DELETE on this table will fail on the source (Postgres requires a replica identity); " +
  "fine for an insert-only table, else add a primary key or set REPLICA IDENTITY FULL"

const identityIssues = (t: SourceTable): Array<Issue> => {
  switch (t.replicaIdentity) {
    case "f":
      return [
        info(
          `REPLICA IDENTITY FULL${t.primaryKey.length === 0 ? ", no primary key" : ""}: updates/deletes matched on the full row`
        )
      ]
    case "n":
      return [warning(`REPLICA IDENTITY NOTHING: ${INSERT_ONLY}`)]
    default:
      return t.identityColumns.length === 0 ? [warning(`no primary key: ${INSERT_ONLY}`)] : []
  }
}

const partitionIssues = (m: TableMapping, t: SourceTable): Array<Issue> => {
  if (t.relkind === "r") {
    return m.partitionsRegex === undefined
      ? []
      : [warning("partitions_regex is set but the table is not partitioned: ignored")]
  }
  const leaves = t.partitions.length
  if (m.partitionsRegex === undefined) {
    return [
      info(`partitioned table with ${leaves} leaf partitions: published through its root, no partitions_regex needed`)
    ]
  }
  let regex: RegExp
  try {
    regex = new RegExp(m.partitionsRegex)
  } catch (e) {
    return [
      error(`partitions_regex ${JSON.stringify(m.partitionsRegex)} is not a valid regular expression: ${String(e)}`)
    ]
  }
  const matched = t.partitions.filter((p) => regex.test(p.name)).length
  return [
    matched === 0
      ? warning(`partitions_regex ${JSON.stringify(m.partitionsRegex)} matches none of the ${leaves} leaf partitions`)
      : info(`partitions_regex matches ${matched} of ${leaves} leaf partitions`)
  ]
}

/** what stops `schema.table` from being published and replicated from this source */
export const sourceTableIssues = (
  m: TableMapping,
  t: SourceTable | undefined,
  access: SourceAccess | undefined
): Array<Issue> => {
  if (t === undefined)
    return [error(`table ${m.schema}.${m.name} not found on the source: create it or fix the mapping`)]
  const issues = [...partitionIssues(m, t), ...identityIssues(t)]
  if (access !== undefined && !access.owner) {
    issues.push(
      error(`role "${access.user}" does not own the table: adding it to a publication needs the owner (or a superuser)`)
    )
  }
  if (access !== undefined && !access.select) {
    issues.push(error(`role "${access.user}" lacks SELECT on the table: the initial copy reads it`))
  }
  const generated = t.columns.filter((c) => c.isGenerated).map((c) => c.name)
  if (generated.length > 0)
    issues.push(info(`${columns("generated", generated)} not replicated (Postgres does not publish them)`))
  return issues
}

export const missingTargetIssue = (m: TableMapping, destinationSchema: string): Issue =>
  m.autoCreate
    ? info(`destination table ${destinationSchema}.${m.target} does not exist: it will be created from the source`)
    : error(
        `destination table ${destinationSchema}.${m.target} does not exist and auto_create is off: create it or enable auto_create`
      )

const historyColumns = (m: TableMapping): ReadonlyArray<string> =>
  m.mode === "history" ? [m.history.start, m.history.end, m.history.deleted, m.history.lsn] : []

const keyIssues = (m: TableMapping, s: SourceTable, t: TargetTable, written: ReadonlyArray<string>): Array<Issue> => {
  const present = new Set(t.columns.map((c) => c.name))
  const missingKey = s.identityColumns.filter((k) => !present.has(k))
  if (missingKey.length > 0) {
    return [error(`${columns("source key", missingKey)} not on the destination: updates and deletes cannot be matched`)]
  }
  if (m.mode === "history") return []
  const sourceKey = s.identityColumns.length > 0 ? s.identityColumns : written
  const allowed = new Set([...sourceKey, ...(t.hasSid ? ["sid"] : [])])
  const keys = [t.primaryKey, ...t.uniqueKeys].filter((k) => k.length > 0)
  const covered = keys.some((k) => k.every((c) => allowed.has(c)) && (!t.hasSid || k.includes("sid")))
  if (covered) return []
  const sid = t.hasSid ? " + sid" : ""
  return [
    warning(
      s.identityColumns.length > 0
        ? `no primary key or unique key on the destination covers the source key (${list(s.identityColumns)})${sid}: ` +
            "replayed inserts may duplicate rows"
        : `the source has no key and no primary or unique key on the destination is made of its columns${sid}: ` +
            "replayed inserts may duplicate rows"
    )
  ]
}

/** what stops rows of source table `s` from being written into destination table `t` */
export const targetTableIssues = (
  m: TableMapping,
  s: SourceTable,
  t: TargetTable,
  access: TargetAccess | undefined
): Array<Issue> => {
  const issues: Array<Issue> = []
  const sourceColumns = s.columns.filter((c) => !c.isGenerated)
  const target = new Map(t.columns.map((c) => [c.name, c]))
  const written = sourceColumns.map((c) => c.name).filter((n) => target.has(n))
  const skipped = sourceColumns.map((c) => c.name).filter((n) => !target.has(n))
  if (skipped.length > 0) issues.push(info(`${columns("source", skipped)} not on the destination: skipped`))
  const managed = new Set([...(t.hasSid ? ["sid"] : []), ...historyColumns(m)])
  const required = t.columns
    .filter((c) => c.notNull && !c.hasDefault && !managed.has(c.name) && !written.includes(c.name))
    .map((c) => c.name)
  if (required.length > 0) {
    issues.push(
      error(`${columns("destination", required)} NOT NULL without a default and not on the source: inserts would fail`)
    )
  }
  for (const c of sourceColumns) {
    const d = target.get(c.name)
    if (d === undefined) continue
    if (d.isGenerated) issues.push(info(`destination column ${c.name} is generated: the source value is not written`))
    else if (d.typeName !== c.typeName) {
      issues.push(warning(`column ${c.name}: source type ${c.typeName}, destination type ${d.typeName}`))
    }
  }
  const absentHistory = [m.history.start, m.history.end, m.history.deleted].filter(
    (n) => m.mode === "history" && !target.has(n)
  )
  if (absentHistory.length > 0) issues.push(error(`history mode needs destination columns ${list(absentHistory)}`))
  else if (m.mode === "history" && !target.has(m.history.lsn)) {
    issues.push(
      m.addPositionColumn === false
        ? error(
            `history position column ${m.history.lsn} is missing and add_position_column is false: add it (numeric)`
          )
        : info(`history position column ${m.history.lsn} is missing: walferry adds it (numeric) at start`)
    )
  }
  issues.push(...keyIssues(m, s, t, written))
  if (access !== undefined) {
    const needed = m.mode === "clone" ? (["insert", "update", "delete"] as const) : (["insert", "update"] as const)
    const lacking = needed.filter((p) => !access[p]).map((p) => p.toUpperCase())
    if (lacking.length > 0) issues.push(error(`role "${access.user}" lacks ${list(lacking)} on the destination table`))
  }
  return issues
}
