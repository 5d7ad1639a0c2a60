/**
 * `walferry check`: a preflight that connects to every source URL and to the destination and reports
 * everything that would stop replication (settings, privileges, capacity, tables, destination columns),
 * without changing anything. Every connection is closed whatever happens; no password is ever printed.
 */
import { Effect } from "effect"
import type { WalferryConfig } from "../config/Config.js"
import { slotName } from "../source/Naming.js"
import { liveTables } from "../mapping/Wildcards.js"
import { inspectCluster } from "./CheckCluster.js"
import { checkWildcards } from "./CheckWildcards.js"
import { inspectDestination, type DestinationResult } from "./CheckDestination.js"
import { error, findingsOf, type CheckReport, type Finding, type Issue } from "./CheckReport.js"
import { inspectSource, tableLabel, type SourceResult } from "./CheckSource.js"
import { missingTargetIssue, targetTableIssues } from "./CheckTables.js"

export { exitCode, formatReport } from "./CheckReport.js"
export type { CheckReport, Finding, Severity } from "./CheckReport.js"

const CONCURRENCY = 8

/** one slot and one walsender per source URL on a server, on top of those other consumers hold */
const capacityIssues = (config: WalferryConfig, results: ReadonlyArray<SourceResult>): Array<Issue> => {
  const facts = results[0]?.facts
  if (facts === undefined) return []
  const ours = new Set(results.map((r) => slotName(config.naming.prefix, r.group.database, r.source.sid)))
  const sids = results
    .map((r) => (r.source.sid === "" ? r.group.database : `${r.group.database}/${r.source.sid}`))
    .join(", ")
  const otherSlots = facts.slots.filter((s) => !ours.has(s)).length
  const otherSenders = Math.max(0, facts.senders - facts.activeSlots.filter((s) => ours.has(s)).length)
  const shortage = (setting: string, max: number, others: number, what: string): Array<Issue> => {
    const needed = results.length + others
    if (needed <= max) return []
    return [
      error(
        `${setting} is ${max} on ${results[0]!.server} but ${needed} are needed: ${results.length} for walferry ` +
          `(${sids}) + ${others} ${what}; raise ${setting} (ALTER SYSTEM SET ${setting} = ${needed}, then restart Postgres)`
      )
    ]
  }
  return [
    ...shortage("max_replication_slots", facts.maxSlots, otherSlots, "held by other replication slots"),
    ...shortage("max_wal_senders", facts.maxSenders, otherSenders, "used by other walsenders")
  ]
}

const serverFindings = (config: WalferryConfig, results: ReadonlyArray<SourceResult>): Array<Finding> => {
  const byServer = new Map<string, Array<SourceResult>>()
  for (const r of results.filter((r) => r.facts !== undefined))
    byServer.set(r.server, [...(byServer.get(r.server) ?? []), r])
  return [...byServer.values()].flatMap((rs) => findingsOf(rs[0]!.subject, undefined, capacityIssues(config, rs)))
}

const destinationTableFindings = (
  config: WalferryConfig,
  results: ReadonlyArray<SourceResult>,
  dest: DestinationResult
): Array<Finding> => {
  if (!dest.reachable) return []
  const schema = config.destination.schema
  const missing = config.sources.flatMap((group) =>
    group.tables
      .filter((m) => dest.targets.get(m.target)?.table === undefined)
      .flatMap((m) =>
        findingsOf({ ...dest.subject, database: group.database }, tableLabel(config, m), [
          missingTargetIssue(m, schema)
        ])
      )
  )
  const compared = results.flatMap((r) =>
    r.group.tables.flatMap((m, i) => {
      const source = r.tables[i]
      const target = dest.targets.get(m.target)
      if (source === undefined || target?.table === undefined) return []
      const subject = { ...dest.subject, database: r.group.database, sid: r.source.sid }
      return findingsOf(subject, tableLabel(config, m), targetTableIssues(m, source, target.table, target.access))
    })
  )
  return [...missing, ...mergeSids(compared)]
}

/** the same finding for several sources of a group is reported once, naming every sid */
const mergeSids = (findings: ReadonlyArray<Finding>): Array<Finding> => {
  const merged = new Map<string, Finding>()
  for (const f of findings) {
    const key = JSON.stringify([f.severity, f.side, f.database, f.url, f.table, f.message])
    const seen = merged.get(key)
    merged.set(
      key,
      seen === undefined ? f : { ...seen, sid: [seen.sid, f.sid].filter((s) => s !== undefined && s !== "").join(", ") }
    )
  }
  return [...merged.values()]
}

/** inspects every source URL and the destination; never fails, every problem is a finding */
export const runCheck = (configured: WalferryConfig): Effect.Effect<CheckReport> =>
  Effect.gen(function* () {
    const wildcards = yield* checkWildcards(configured)
    const config = wildcards.config
    const sources = config.sources.flatMap((group) =>
      group.urls.map((source) => ({ group: { ...group, tables: liveTables(group.tables, source.sid) }, source }))
    )
    const [results, dest] = yield* Effect.all(
      [
        Effect.forEach(sources, ({ group, source }) => inspectSource(config, group, source), {
          concurrency: CONCURRENCY
        }),
        inspectDestination(config)
      ],
      { concurrency: 2 }
    )
    const findings = [
      ...wildcards.findings,
      ...results.flatMap((r) => r.findings),
      ...serverFindings(config, results),
      ...dest.findings,
      ...destinationTableFindings(config, results, dest),
      ...(config.cluster?.enabled === true ? yield* inspectCluster(config.cluster) : [])
    ]
    return { origin: config.origin, findings }
  }).pipe(Effect.withSpan("Check.runCheck"))
