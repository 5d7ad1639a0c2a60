/**
 * Brings the source publication in line with the mapping, in one transaction: created when missing,
 * mapped tables added, unmapped ones dropped, options forced to all four actions and
 * `publish_via_partition_root = true` (a partitioned parent is published itself and every partition's
 * changes arrive as the parent). Reports which mapped tables are new to the publication.
 */
import { Effect, Exit } from "effect"
import type pg from "pg"
import type { TableMapping } from "../../config/Config.js"
import { describeCause, PublicationError, SourceTableMissing, type SourceRef } from "../SourceErrors.js"
import { qualified, query, quoteIdent } from "../../lib/Sql.js"
import { refOf } from "../SourceClient.js"

export interface PublicationSync {
  readonly name: string
  readonly created: boolean
  /** mapped tables that were not in the publication before (every mapped table when it was created) */
  readonly added: ReadonlyArray<TableMapping>
  /** `schema.name` of tables dropped from the publication because nothing maps them any more */
  readonly removed: ReadonlyArray<string>
  /** publish actions or publish_via_partition_root had to be corrected */
  readonly optionsRepaired: boolean
}

const OPTIONS = "publish = 'insert, update, delete, truncate', publish_via_partition_root = true"

const keyOf = (schema: string, name: string) => JSON.stringify([schema, name])

const RELKINDS: Record<string, string> = {
  v: "is a view",
  m: "is a materialized view",
  f: "is a foreign table",
  S: "is a sequence",
  i: "is an index",
  c: "is a composite type"
}

interface Resolved {
  readonly schema: string
  readonly name: string
  readonly relkind: string | null
  readonly relpersistence: string | null
}

interface PublicationRow {
  readonly puballtables: boolean
  readonly all_actions: boolean
  readonly pubviaroot: boolean
}

/**
 * SQL, with the publication as `p` (null when missing) and the mapped tables as `$2` (schemas) and `$3`
 * (names): true when `syncPublication` would change nothing and report nothing (options right, exactly the
 * mapped tables, each an ordinary or partitioned logged table). One read, no transaction: the usual start.
 */
export const PUBLICATION_CURRENT = `(not p.puballtables and p.pubinsert and p.pubupdate and p.pubdelete
    and p.pubtruncate and p.pubviaroot
  and not exists (
    select 1 from unnest($2::text[], $3::text[]) as t(schema, name)
    left join pg_namespace n on n.nspname = t.schema
    left join pg_class c on c.relnamespace = n.oid and c.relname = t.name
    where c.oid is null or c.relkind not in ('r', 'p') or c.relpersistence = 'u'
      or not exists (select 1 from pg_publication_rel pr where pr.prpubid = p.oid and pr.prrelid = c.oid))
  and not exists (
    select 1 from pg_publication_rel pr
    join pg_class c on c.oid = pr.prrelid
    join pg_namespace n on n.oid = c.relnamespace
    where pr.prpubid = p.oid and not exists (
      select 1 from unnest($2::text[], $3::text[]) as t(schema, name) where t.schema = n.nspname and t.name = c.relname)))`

/** what `syncPublication` returns for a publication that is already current */
export const unchangedPublication = (publication: string): PublicationSync => ({
  name: publication,
  created: false,
  added: [],
  removed: [],
  optionsRepaired: false
})

export const syncPublication = (
  client: pg.Client,
  publication: string,
  tables: ReadonlyArray<TableMapping>,
  ref?: SourceRef
): Effect.Effect<PublicationSync, PublicationError | SourceTableMissing> => {
  const source = refOf(client, ref)
  const fail = (reason: string) =>
    new PublicationError({ database: source.database, sid: source.sid, publication, reason })
  const run = <R extends pg.QueryResultRow>(sql: string, params: ReadonlyArray<unknown> = []) =>
    query<R>(client, sql, params).pipe(Effect.mapError((e) => fail(describeCause(e))))

  const body = Effect.gen(function* () {
    const mapped = [...new Map(tables.map((t) => [keyOf(t.schema, t.name), t])).values()]
    const resolved = yield* run<Resolved>(
      `select t.schema, t.name, c.relkind::text as relkind, c.relpersistence::text as relpersistence
       from unnest($1::text[], $2::text[]) with ordinality as t(schema, name, ord)
       left join pg_namespace n on n.nspname = t.schema
       left join pg_class c on c.relnamespace = n.oid and c.relname = t.name
       order by t.ord`,
      [mapped.map((t) => t.schema), mapped.map((t) => t.name)]
    )
    for (const r of resolved) {
      const problem =
        r.relkind === null
          ? "does not exist"
          : r.relkind !== "r" && r.relkind !== "p"
            ? (RELKINDS[r.relkind] ?? `is not a table (relkind ${r.relkind})`)
            : r.relpersistence === "u"
              ? "is unlogged, so its changes are not in the WAL"
              : undefined
      if (problem !== undefined) {
        return yield* new SourceTableMissing({
          database: source.database,
          sid: source.sid,
          table: `${r.schema}.${r.name}`,
          reason: problem
        })
      }
    }
    const existing = (yield* run<PublicationRow>(
      `select puballtables, pubinsert and pubupdate and pubdelete and pubtruncate as all_actions, pubviaroot
       from pg_publication where pubname = $1`,
      [publication]
    ))[0]
    const list = (ts: ReadonlyArray<{ readonly schema: string; readonly name: string }>) =>
      ts.map((t) => qualified(t.schema, t.name)).join(", ")

    if (existing === undefined) {
      const forTables = mapped.length === 0 ? "" : ` for table ${list(mapped)}`
      yield* run(`create publication ${quoteIdent(publication)}${forTables} with (${OPTIONS})`)
      return { name: publication, created: true, added: mapped, removed: [], optionsRepaired: false }
    }
    if (existing.puballtables) {
      return yield* fail("it was created FOR ALL TABLES; drop it so walferry can recreate it for the mapped tables")
    }
    const optionsRepaired = !existing.all_actions || !existing.pubviaroot
    if (optionsRepaired) yield* run(`alter publication ${quoteIdent(publication)} set (${OPTIONS})`)

    const members = yield* run<{ schema: string; name: string }>(
      `select n.nspname as schema, c.relname as name
       from pg_publication p
       join pg_publication_rel pr on pr.prpubid = p.oid
       join pg_class c on c.oid = pr.prrelid
       join pg_namespace n on n.oid = c.relnamespace
       where p.pubname = $1`,
      [publication]
    )
    const memberKeys = new Set(members.map((m) => keyOf(m.schema, m.name)))
    const mappedKeys = new Set(mapped.map((t) => keyOf(t.schema, t.name)))
    const added = mapped.filter((t) => !memberKeys.has(keyOf(t.schema, t.name)))
    const removed = members.filter((m) => !mappedKeys.has(keyOf(m.schema, m.name)))
    if (removed.length > 0) yield* run(`alter publication ${quoteIdent(publication)} drop table ${list(removed)}`)
    if (added.length > 0) yield* run(`alter publication ${quoteIdent(publication)} add table ${list(added)}`)
    return {
      name: publication,
      created: false,
      added,
      removed: removed.map((m) => `${m.schema}.${m.name}`),
      optionsRepaired
    }
  })

  return Effect.gen(function* () {
    yield* run("begin")
    const result = yield* body
    yield* run("commit")
    return result
  }).pipe(Effect.onExit((exit) => (Exit.isSuccess(exit) ? Effect.void : Effect.ignore(run("rollback")))))
}
