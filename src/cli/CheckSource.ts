/**
 * `walferry check` on one source URL: server version and settings, role privileges, a replication
 * connection, and every mapped table. Never fails: problems become findings. Slot and sender capacity is
 * judged later, per server, from the facts returned here.
 */
import { Effect, Redacted } from "effect"
import type pg from "pg"
import type { SourceGroup, SourceUrl, WalferryConfig } from "../config/Config.js"
import { captureInstalled } from "../ddl/DdlCapture.js"
import { query } from "../lib/Sql.js"
import { publicationName, slotName } from "../source/Naming.js"
import { expandHosts, resolvePrimary } from "../source/SourceHosts.js"
import { failoverIssues } from "./CheckFailover.js"
import { describeSourceTable, type SourceTable } from "../source/SourceCatalog.js"
import { APPLICATION_NAME, connect, ConnectFailed, endpointOf, maskUrl, scrub } from "./CheckConnect.js"
import { error, findingsOf, type Finding, type Issue, type Subject } from "./CheckReport.js"
import { sourceTableIssues, type SourceAccess } from "./CheckTables.js"

export const MIN_VERSION = 13

export interface ServerFacts {
  readonly versionNum: number
  readonly version: string
  readonly walLevel: string
  readonly maxSlots: number
  readonly maxSenders: number
  /** names of every replication slot on the server */
  readonly slots: ReadonlyArray<string>
  readonly activeSlots: ReadonlyArray<string>
  /** walsender processes running now (physical and logical), not counting this check's own probes */
  readonly senders: number
  readonly user: string
  readonly superuser: boolean
  readonly replication: boolean
  readonly createOnDatabase: boolean
  /** null when the publication does not exist yet */
  readonly ownsPublication: boolean | null
}

export interface SourceResult {
  readonly group: SourceGroup
  readonly source: SourceUrl
  readonly subject: Subject
  /** host:port the URL points at: URLs sharing it share slots and senders */
  readonly server: string
  readonly facts: ServerFacts | undefined
  /** describeSourceTable per mapping (same order as group.tables); undefined entries: missing or not inspected */
  readonly tables: ReadonlyArray<SourceTable | undefined>
  readonly findings: ReadonlyArray<Finding>
}

const FACTS_SQL = `
  select current_setting('server_version_num')::int as "versionNum", current_setting('server_version') as version,
    current_setting('wal_level') as "walLevel",
    current_setting('max_replication_slots')::int as "maxSlots", current_setting('max_wal_senders')::int as "maxSenders",
    array(select slot_name::text from pg_replication_slots order by 1) as slots,
    array(select slot_name::text from pg_replication_slots where active order by 1) as "activeSlots",
    (select count(*)::int from pg_stat_replication where application_name is distinct from $2) as senders,
    current_user as user, r.rolsuper as superuser, r.rolreplication as replication,
    has_database_privilege(current_database(), 'CREATE') as "createOnDatabase",
    (select pg_has_role(p.pubowner, 'USAGE') from pg_publication p where p.pubname = $1) as "ownsPublication"
  from pg_roles r where r.rolname = current_user`

const ACCESS_SQL = `
  select pg_has_role(c.relowner, 'USAGE') as owner, has_table_privilege(c.oid, 'SELECT') as select
  from pg_class c where c.oid = $1`

const serverIssues = (
  f: ServerFacts,
  database: string,
  ddl: SourceGroup["ddl"],
  captureInstalled: boolean
): Array<Issue> => {
  const issues: Array<Issue> = []
  if (((ddl === "capture" && !captureInstalled) || ddl === "remove") && !f.superuser) {
    issues.push(
      error(
        `ddl: ${ddl} needs a superuser: role "${f.user}" cannot ${ddl === "capture" ? "create" : "drop"} walferry's ` +
          "event triggers (run walferry once with a superuser in this source URL to install them, or set ddl: off)"
      )
    )
  }
  if (f.versionNum < MIN_VERSION * 10_000) {
    issues.push(error(`Postgres ${f.version} is not supported: walferry needs Postgres ${MIN_VERSION} or newer`))
  }
  if (f.walLevel !== "logical") {
    issues.push(
      error(
        `wal_level is "${f.walLevel}": logical replication needs wal_level = logical ` +
          "(ALTER SYSTEM SET wal_level = logical, or set it in postgresql.conf, then restart Postgres)"
      )
    )
  }
  if (!f.superuser && !f.replication) {
    issues.push(
      error(
        `role "${f.user}" has neither REPLICATION nor SUPERUSER: it cannot create or stream a replication slot ` +
          `(ALTER ROLE "${f.user}" REPLICATION)`
      )
    )
  }
  if (f.ownsPublication === false) {
    issues.push(error(`role "${f.user}" does not own the existing publication: it cannot add or drop its tables`))
  } else if (f.ownsPublication === null && !f.superuser && !f.createOnDatabase) {
    issues.push(
      error(
        `role "${f.user}" lacks CREATE on database "${database}": it cannot create the publication ` +
          `(GRANT CREATE ON DATABASE "${database}" TO "${f.user}")`
      )
    )
  }
  return issues
}

/** a replication (walsender) connection: proves the role, pg_hba.conf and max_wal_senders allow streaming */
const probeReplication = (source: SourceUrl): Effect.Effect<Array<Issue>> =>
  Effect.scoped(connect(source.url, { replication: true })).pipe(
    Effect.as([]),
    Effect.catchTag("ConnectFailed", (e) => Effect.succeed([error(`replication connection refused: ${e.message}`)]))
  )

const inspectTables = (client: pg.Client, group: SourceGroup, user: string) =>
  Effect.forEach(group.tables, (m) =>
    Effect.gen(function* () {
      const table = yield* describeSourceTable(client, m.schema, m.name)
      const [row] = table === undefined ? [] : yield* query<Omit<SourceAccess, "user">>(client, ACCESS_SQL, [table.oid])
      return { table, issues: sourceTableIssues(m, table, row === undefined ? undefined : { user, ...row }) }
    }).pipe(
      Effect.catchTag("QueryFailed", (e) =>
        Effect.succeed({ table: undefined, issues: [error(`could not inspect the table: ${e.message}`)] })
      )
    )
  )

export const tableLabel = (config: WalferryConfig, m: SourceGroup["tables"][number]): string =>
  `${m.schema}.${m.name} → ${config.destination.schema}.${m.target}`

export const inspectSource = (
  config: WalferryConfig,
  group: SourceGroup,
  source: SourceUrl
): Effect.Effect<SourceResult> => {
  const raw = Redacted.value(source.url)
  const subject: Subject = { side: "source", database: group.database, sid: source.sid, url: maskUrl(raw) }
  const { host, port, database } = endpointOf(raw)
  const base = { group, source, subject, server: `${host.toLowerCase()}:${port}` }
  const unusable = (issue: Issue): SourceResult => ({
    ...base,
    facts: undefined,
    tables: group.tables.map(() => undefined),
    findings: findingsOf(subject, undefined, [issue])
  })
  return Effect.gen(function* () {
    // one host: nothing to choose; its connect below settles sslmode and describes a failure best
    const primary =
      expandHosts(raw).length < 2
        ? source.url
        : yield* resolvePrimary(source.url, { database: group.database, sid: source.sid }).pipe(
            Effect.mapError((e) => new ConnectFailed({ message: e.message, code: undefined }))
          )
    source = { ...source, url: primary }
    const client = yield* connect(source.url)
    const publication = publicationName(config.naming.prefix, group.database, source.sid)
    const [facts] = yield* query<ServerFacts>(client, FACTS_SQL, [publication, APPLICATION_NAME])
    if (facts === undefined) return unusable(error("cannot read the server settings (role not found in pg_roles)"))
    const installed = group.ddl === "capture" ? yield* captureInstalled(client) : false
    const issues = serverIssues(facts, database, group.ddl, installed)
    if (facts.superuser || facts.replication) issues.push(...(yield* probeReplication(source)))
    issues.push(
      ...(yield* failoverIssues(
        client,
        facts.versionNum,
        config.slots?.failover ?? "auto",
        slotName(config.naming.prefix, group.database, source.sid),
        raw,
        Redacted.value(primary)
      ))
    )
    const tables = yield* inspectTables(client, group, facts.user)
    const findings = [
      ...findingsOf(subject, undefined, issues),
      ...tables.flatMap((t, i) => findingsOf(subject, tableLabel(config, group.tables[i]!), t.issues))
    ]
    return { ...base, facts, tables: tables.map((t) => t.table), findings }
  }).pipe(
    Effect.scoped,
    Effect.catchTags({
      ConnectFailed: (e) => Effect.succeed(unusable(error(e.message))),
      QueryFailed: (e) => Effect.succeed(unusable(error(`cannot inspect the server: ${scrub(e.message, raw)}`)))
    })
  )
}
