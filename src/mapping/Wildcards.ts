/**
 * Expands the wildcard keys of the mapping (config/TablePattern) against each source URL's catalog: every
 * permanent ordinary or partitioned table (not a partition) outside the system schemas and walferry's own
 * that a key matches becomes a TableMapping with the key's options and its own name as target. Named tables
 * win over wildcards, and an earlier key over a later one. A match whose target another table of the group
 * already has is skipped with a warning. Expansion only grows within a process: a table matched before and
 * gone now stays mapped, `dropped` for that source, so what it streamed before the DROP still reaches its
 * target (a replay after a restart still routes its rows), and it is neither published nor copied again.
 * A source that cannot be read keeps what it had. With capture on, tables the source dropped (its
 * walferry.ddl_events, kept a day) whose target the destination has are mapped as dropped too, so rows replayed
 * from before the DROP after walferry was down or crashed still arrive.
 */
import { Effect, Either } from "effect"
import type { SourceGroup, SourceUrl, TableMapping, TableWildcard, WalferryConfig } from "../config/Config.js"
import { matchesPattern } from "../config/TablePattern.js"
import { query } from "../lib/Sql.js"
import { clientConfig, connect } from "../source/SourceClient.js"
import { describeCause } from "../source/SourceErrors.js"

export interface CatalogTable {
  readonly schema: string
  readonly name: string
}

/** sid → its source's tables; absent when the source could not be read */
export type Catalogs = ReadonlyMap<string, ReadonlyArray<CatalogTable>>

export const CANDIDATES_SQL = `
  select n.nspname::text as schema, c.relname::text as name
  from pg_class c join pg_namespace n on n.oid = c.relnamespace
  where c.relkind in ('r', 'p') and c.relpersistence = 'p' and not c.relispartition
    and n.nspname not in ('walferry', 'information_schema') and n.nspname not like 'pg\\_%'
  order by 1, 2`

const keyOf = (t: CatalogTable) => `${t.schema}.${t.name}`

/** the tables of `tables` to publish and copy for source `sid`: named ones, and wildcard matches it has now */
export const liveTables = (tables: ReadonlyArray<TableMapping>, sid: string): ReadonlyArray<TableMapping> =>
  tables.filter((t) => t.wildcard === undefined || t.wildcard.present.includes(sid))

/** every wildcard match is dropped on every source that had it */
export const isDropped = (t: TableMapping): boolean =>
  t.wildcard !== undefined && t.wildcard.present.length === 0 && t.wildcard.dropped.length > 0

/** the group with its wildcards expanded against `catalogs` (pure), and the matches it had to skip */
export const expandGroup = (
  group: SourceGroup,
  catalogs: Catalogs,
  /** per sid, tables its capture saw dropped whose target the destination still has (readCapturedDrops) */
  gone: Catalogs = new Map()
): { readonly group: SourceGroup; readonly warnings: ReadonlyArray<string> } => {
  const wildcards = group.wildcards ?? []
  if (wildcards.length === 0) return { group, warnings: [] }
  const named = group.tables.filter((t) => t.wildcard === undefined)
  const before = new Map(group.tables.filter((t) => t.wildcard !== undefined).map((t) => [keyOf(t), t]))
  const namedKeys = new Set(named.map(keyOf))
  const targets = new Map(named.map((t) => [t.target, keyOf(t)]))
  const found = new Map<string, { table: CatalogTable; wildcard: TableWildcard; present: Set<string> }>()
  const warnings: Array<string> = []
  for (const url of group.urls) {
    const catalog = catalogs.get(url.sid)
    const tables =
      catalog ?? [...before.values()].filter((t) => t.wildcard!.present.includes(url.sid)).map((t) => ({ ...t }))
    for (const table of tables) {
      const key = keyOf(table)
      if (namedKeys.has(key)) continue
      const wildcard = wildcards.find((w) => matchesPattern(w, table.schema, table.name))
      if (wildcard === undefined) continue
      const owner = targets.get(table.name)
      if (owner !== undefined && owner !== key) {
        warnings.push(
          `${group.database}: ${key} matches "${wildcard.key}" but its target ${table.name} is already mapped from ${owner}; not mapped`
        )
        continue
      }
      targets.set(table.name, key)
      const entry = found.get(key) ?? { table, wildcard, present: new Set<string>() }
      entry.present.add(url.sid)
      found.set(key, entry)
    }
  }
  const matched: Array<TableMapping> = []
  for (const { table, wildcard, present } of found.values()) {
    const old = before.get(keyOf(table))?.wildcard
    const dropped = group.urls
      .map((u) => u.sid)
      .filter(
        (sid) => !present.has(sid) && (old?.present.includes(sid) === true || old?.dropped.includes(sid) === true)
      )
    matched.push(mapped(wildcard, table, [...present], dropped))
  }
  const earlier = new Map<string, { table: CatalogTable; wildcard: TableWildcard; sids: Set<string> }>()
  for (const url of group.urls) {
    for (const table of gone.get(url.sid) ?? []) {
      const key = keyOf(table)
      const wildcard = wildcards.find((w) => matchesPattern(w, table.schema, table.name))
      if (namedKeys.has(key) || found.has(key) || before.has(key) || wildcard === undefined) continue
      if ((targets.get(table.name) ?? key) !== key) continue
      targets.set(table.name, key)
      const entry = earlier.get(key) ?? { table, wildcard, sids: new Set<string>() }
      entry.sids.add(url.sid)
      earlier.set(key, entry)
    }
  }
  for (const { table, wildcard, sids } of earlier.values()) matched.push(mapped(wildcard, table, [], [...sids]))
  for (const [key, old] of before) {
    if (found.has(key)) continue
    const had = old.wildcard!
    const dropped = group.urls.map((u) => u.sid).filter((sid) => had.present.includes(sid) || had.dropped.includes(sid))
    matched.push({ ...old, wildcard: { key: had.key, present: [], dropped } })
  }
  matched.sort((a, b) => (keyOf(a) < keyOf(b) ? -1 : keyOf(a) > keyOf(b) ? 1 : 0))
  return { group: { ...group, tables: [...named, ...matched] }, warnings }
}

const mapped = (
  wildcard: TableWildcard,
  table: CatalogTable,
  present: ReadonlyArray<string>,
  dropped: ReadonlyArray<string>
): TableMapping => ({
  ...wildcard.template,
  schema: table.schema,
  name: table.name,
  target: table.name,
  wildcard: { key: wildcard.key, present, dropped }
})

/** the candidate tables of one source, or why they could not be read */
export const readCatalog = (group: SourceGroup, url: SourceUrl) =>
  Effect.scoped(
    Effect.gen(function* () {
      const ref = { database: group.database, sid: url.sid }
      const client = yield* connect(clientConfig(url.url, `walferry_${group.database}`), ref)
      return yield* query<CatalogTable>(client, CANDIDATES_SQL).pipe(Effect.mapError((e) => describeCause(e.cause)))
    })
  ).pipe(
    Effect.mapError((e) => (typeof e === "string" ? e : e.message)),
    Effect.either
  )

const CAPTURED_DROPS_SQL = `
  select distinct e.schema_name as schema, e.table_name as name from walferry.ddl_events e
  where e.command = 'DROP TABLE' and not exists (
    select from pg_class c join pg_namespace n on n.oid = c.relnamespace
    where n.nspname = e.schema_name and c.relname = e.table_name)`

/**
 * with capture on: tables the source dropped (recorded in walferry.ddl_events, kept a day) — after walferry was
 * down, or crashed before it confirmed a DROP, the stream still replays their last rows
 */
const readCapturedDrops = (group: SourceGroup, url: SourceUrl) =>
  Effect.scoped(
    Effect.gen(function* () {
      const ref = { database: group.database, sid: url.sid }
      const client = yield* connect(clientConfig(url.url, `walferry_${group.database}`), ref)
      const [installed] = yield* query<{ ok: boolean }>(
        client,
        "select to_regclass('walferry.ddl_events') is not null as ok"
      )
      if (installed?.ok !== true) return []
      return yield* query<CatalogTable>(client, CAPTURED_DROPS_SQL)
    })
  ).pipe(Effect.orElseSucceed((): ReadonlyArray<CatalogTable> => []))

/** the destination's tables (names) in `schema`; empty when it cannot be read */
const destinationTables = (destination: WalferryConfig["destination"]) =>
  Effect.scoped(
    Effect.gen(function* () {
      const ref = { database: "destination", sid: "" }
      const client = yield* connect(clientConfig(destination.url, "walferry"), ref)
      const rows = yield* query<{ name: string }>(
        client,
        `select c.relname::text as name from pg_class c join pg_namespace n on n.oid = c.relnamespace
         where n.nspname = $1 and c.relkind in ('r', 'p')`,
        [destination.schema]
      )
      return new Set(rows.map((r) => r.name))
    })
  ).pipe(Effect.orElseSucceed(() => new Set<string>()))

export interface Expansion {
  readonly sources: ReadonlyArray<SourceGroup>
  readonly warnings: ReadonlyArray<string>
  /** sources whose catalog could not be read (they keep what they had) */
  readonly unread: ReadonlyArray<string>
}

/** expands every group's wildcards against its sources' catalogs, read in parallel */
export const expandSources = (
  sources: ReadonlyArray<SourceGroup>,
  destination?: WalferryConfig["destination"]
): Effect.Effect<Expansion> =>
  Effect.gen(function* () {
    const warnings: Array<string> = []
    const unread: Array<string> = []
    const captures = sources.some((g) => g.ddl === "capture" && (g.wildcards ?? []).length > 0)
    const kept = destination === undefined || !captures ? new Set<string>() : yield* destinationTables(destination)
    const groups = yield* Effect.forEach(
      sources,
      (group) =>
        (group.wildcards ?? []).length === 0
          ? Effect.succeed(group)
          : Effect.gen(function* () {
              const catalogs = new Map<string, ReadonlyArray<CatalogTable>>()
              const read = yield* Effect.forEach(group.urls, (url) => readCatalog(group, url), {
                concurrency: 4
              })
              group.urls.forEach((url, i) => {
                const r = read[i]!
                if (Either.isRight(r)) catalogs.set(url.sid, r.right)
                else {
                  const source = `${group.database}/${url.sid}`
                  unread.push(source)
                  warnings.push(`${source}: cannot read its tables to expand wildcard keys: ${r.left}`)
                }
              })
              const gone = new Map<string, ReadonlyArray<CatalogTable>>()
              if (group.ddl === "capture" && kept.size > 0) {
                for (const url of group.urls) {
                  const drops = yield* readCapturedDrops(group, url)
                  gone.set(
                    url.sid,
                    drops.filter((t) => kept.has(t.name))
                  )
                }
              }
              const expanded = expandGroup(group, catalogs, gone)
              warnings.push(...expanded.warnings)
              return expanded.group
            }),
      { concurrency: 4 }
    )
    return { sources: groups, warnings, unread }
  })

/** `config` with its wildcards expanded (for commands that run once: check, verify, cutover) */
export const expandConfig = (config: WalferryConfig) =>
  Effect.map(expandSources(config.sources, config.destination), (e) => ({
    ...e,
    config: { ...config, sources: e.sources }
  }))
