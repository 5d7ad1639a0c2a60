/**
 * `walferry check` on the destination: reachable, schema present, and every mapped target table described
 * with the role's write privileges. Never fails: problems become findings.
 */
import { Effect, Redacted } from "effect"
import type pg from "pg"
import type { WalferryConfig } from "../config/Config.js"
import { query } from "../lib/Sql.js"
import { describeTargetTable, type TargetTable } from "../target/TargetCatalog.js"
import { connect, maskUrl, scrub } from "./CheckConnect.js"
import { error, findingsOf, type Finding, type Subject } from "./CheckReport.js"
import type { TargetAccess } from "./CheckTables.js"

export interface DestinationTarget {
  readonly table: TargetTable | undefined
  readonly access: TargetAccess | undefined
}

export interface DestinationResult {
  readonly subject: Subject
  /** false when the destination could not be inspected at all */
  readonly reachable: boolean
  /** by target table name (in the destination schema) */
  readonly targets: ReadonlyMap<string, DestinationTarget>
  readonly findings: ReadonlyArray<Finding>
}

const FACTS_SQL = `
  select current_user as user, current_setting('server_version') as version,
    exists (select 1 from pg_namespace where nspname = $1) as "schemaExists",
    case when exists (select 1 from pg_namespace where nspname = $1) then has_schema_privilege($1, 'CREATE') end as "createOnSchema"`

const ACCESS_SQL = `
  select has_table_privilege($1::oid, 'INSERT') as insert, has_table_privilege($1::oid, 'UPDATE') as update,
    has_table_privilege($1::oid, 'DELETE') as delete`

interface Facts {
  readonly user: string
  readonly version: string
  readonly schemaExists: boolean
  readonly createOnSchema: boolean | null
}

const describeTarget = (client: pg.Client, schema: string, name: string, user: string) =>
  Effect.gen(function* () {
    const table = yield* describeTargetTable(client, schema, name)
    if (table === undefined) return { table, access: undefined }
    const [row] = yield* query<Omit<TargetAccess, "user">>(client, ACCESS_SQL, [table.oid])
    return { table, access: row === undefined ? undefined : { user, ...row } }
  })

export const inspectDestination = (config: WalferryConfig): Effect.Effect<DestinationResult> => {
  const raw = Redacted.value(config.destination.url)
  const schema = config.destination.schema
  const subject: Subject = { side: "destination", database: undefined, sid: undefined, url: maskUrl(raw) }
  const unusable = (message: string): DestinationResult => ({
    subject,
    reachable: false,
    targets: new Map(),
    findings: findingsOf(subject, undefined, [error(message)])
  })
  const names = [...new Set(config.sources.flatMap((g) => g.tables.map((t) => t.target)))]
  const autoCreated = config.sources.some((g) => g.tables.some((t) => t.autoCreate))
  return Effect.gen(function* () {
    const client = yield* connect(config.destination.url)
    const [facts] = yield* query<Facts>(client, FACTS_SQL, [schema])
    if (facts === undefined) return unusable("cannot read the destination settings")
    const targets = new Map<string, DestinationTarget>()
    for (const name of names) targets.set(name, yield* describeTarget(client, schema, name, facts.user))
    const missing = [...targets.values()].some((t) => t.table === undefined)
    const issues = [
      ...(facts.schemaExists ? [] : [error(`destination schema "${schema}" does not exist: create it`)]),
      ...(facts.createOnSchema === false && autoCreated && missing
        ? [error(`role "${facts.user}" lacks CREATE on schema "${schema}": auto_create cannot create missing tables`)]
        : [])
    ]
    return { subject, reachable: true, targets, findings: findingsOf(subject, undefined, issues) }
  }).pipe(
    Effect.scoped,
    Effect.catchTags({
      ConnectFailed: (e) => Effect.succeed(unusable(`destination: ${e.message}`)),
      QueryFailed: (e) => Effect.succeed(unusable(`cannot inspect the destination: ${scrub(e.message, raw)}`))
    })
  )
}
