/**
 * `GET /api/tables/{table}`: what the console's table detail shows besides `/status`: which source tables feed the
 * destination table, its column mapping (source → destination, with types, keys and what happens to a column
 * present on one side only), `walferry check`'s findings for it and the SQLSTATE of its last error. The catalogs
 * are read on request through short-lived connections (5 s connect timeout); a server that cannot be reached
 * gives its reason in `problems` instead of failing the request. No URL or password is returned.
 */
import { Effect, Redacted } from "effect"
import { connect } from "../../cli/CheckConnect.js"
import { sourceTableIssues, targetTableIssues } from "../../cli/CheckTables.js"
import type { Issue } from "../../cli/CheckReport.js"
import type { TableMapping, WalferryConfig } from "../../config/Config.js"
import { describeSourceTable, type SourceTable } from "../../source/SourceCatalog.js"
import { redactSecrets } from "../../telemetry/Logging.js"
import { describeTargetTable, type TargetTable } from "../../target/TargetCatalog.js"

export interface ColumnMapping {
  readonly source: string | null
  readonly sourceType: string | null
  readonly destination: string | null
  readonly destinationType: string | null
  readonly key: boolean
  /** what walferry does with this column, when not simply "copied" */
  readonly note: string | null
}

export interface TableDetail {
  readonly target: string
  readonly destinationSchema: string
  readonly mode: string
  readonly feeds: ReadonlyArray<{
    readonly database: string
    readonly sids: ReadonlyArray<string>
    readonly source: string
  }>
  readonly columns: ReadonlyArray<ColumnMapping>
  readonly findings: ReadonlyArray<Issue>
  readonly problems: ReadonlyArray<string>
}

/** the SQLSTATE in a writer error ("table t: column "c": 42804 …"), null when there is none */
export const sqlstateOf = (error: string | null | undefined): string | null =>
  error == null ? null : (/^table [^:]*:(?: column "[^"]*":)? ([0-9A-Z]{5}) /.exec(error)?.[1] ?? null)

const HISTORY_NOTE = "kept by history mode"

/** source columns in order, then destination-only columns */
export const columnMapping = (mapping: TableMapping, s: SourceTable | undefined, t: TargetTable | undefined) => {
  const out: Array<ColumnMapping> = []
  const dest = new Map((t?.columns ?? []).map((c) => [c.name, c] as const))
  const history = new Set(Object.values(mapping.history))
  for (const c of s?.columns ?? []) {
    const d = dest.get(c.name)
    const note = c.isGenerated
      ? "generated on the source: not replicated"
      : t === undefined
        ? null
        : d === undefined
          ? "no such destination column: skipped"
          : d.isGenerated
            ? "generated on the destination: not written"
            : d.typeName !== c.typeName
              ? "types differ: values are cast by the destination"
              : null
    out.push({
      source: c.name,
      sourceType: c.typeName,
      destination: d?.name ?? null,
      destinationType: d?.typeName ?? null,
      key: c.isPrimaryKey,
      note
    })
  }
  const sourceNames = new Set((s?.columns ?? []).map((c) => c.name))
  for (const d of t?.columns ?? []) {
    if (sourceNames.has(d.name)) continue
    const note =
      d.name === "sid"
        ? "source id (sid) of each row"
        : mapping.mode === "history" && history.has(d.name)
          ? HISTORY_NOTE
          : d.hasDefault || !d.notNull
            ? "not on the source: keeps its default"
            : "not on the source and NOT NULL without a default: inserts fail"
    out.push({
      source: null,
      sourceType: null,
      destination: d.name,
      destinationType: d.typeName,
      key: (t?.primaryKey ?? []).includes(d.name),
      note
    })
  }
  return out
}

const reason = (e: { readonly message: string }) => redactSecrets(e.message)

export const tableDetail = (config: WalferryConfig, target: string) =>
  Effect.gen(function* () {
    const groups = config.sources.flatMap((g) =>
      g.tables.filter((t) => t.target === target).map((mapping) => ({ group: g, mapping }))
    )
    const first = groups[0]
    if (first === undefined) return undefined
    const problems: Array<string> = []
    const schema = config.destination.schema
    const sourceUrl = first.group.urls[0]?.url ?? Redacted.make("")
    const source = yield* Effect.scoped(
      Effect.flatMap(connect(sourceUrl), (client) =>
        describeSourceTable(client, first.mapping.schema, first.mapping.name)
      )
    ).pipe(
      Effect.catchAll((e) => Effect.sync(() => void problems.push(`source ${first.group.database}: ${reason(e)}`)))
    )
    const dest = yield* Effect.scoped(
      Effect.flatMap(connect(config.destination.url), (client) => describeTargetTable(client, schema, target))
    ).pipe(Effect.catchAll((e) => Effect.sync(() => void problems.push(`destination: ${reason(e)}`))))
    const findings: Array<Issue> = []
    if (problems.length === 0) {
      findings.push(...sourceTableIssues(first.mapping, source ?? undefined, undefined))
      if (source && dest) findings.push(...targetTableIssues(first.mapping, source, dest, undefined))
      else if (source && !dest)
        findings.push({ severity: "error", message: `no table ${schema}.${target} on the destination` })
    }
    return {
      target,
      destinationSchema: schema,
      mode: first.mapping.mode,
      feeds: groups.map(({ group, mapping }) => ({
        database: group.database,
        sids: group.urls.map((u) => u.sid),
        source: `${mapping.schema}.${mapping.name}`
      })),
      columns: columnMapping(first.mapping, source ?? undefined, dest ?? undefined),
      findings,
      problems
    } satisfies TableDetail
  })
