/**
 * Which sequences to copy: on each source URL, the sequences owned by the mapped tables' columns (serial
 * and identity, `pg_get_serial_sequence`) and the configured extra ones; each paired with its destination
 * counterpart, the sequence owned by the same column of the mapped target table (or, for an extra one,
 * the sequence of the same name). A missing counterpart is kept in the plan (reported, never fatal).
 */
import { Effect } from "effect"
import type pg from "pg"
import type { SourceGroup, WalferryConfig } from "../config/Config.js"
import { qualified, query, type QueryFailed } from "../lib/Sql.js"

export interface SequencePair {
  /** source sequence, `schema.name` as Postgres prints it */
  readonly source: string
  /** destination sequence, or undefined when the destination has none for it */
  readonly destination: string | undefined
  /** what it belongs to: `schema.table.column`, or "extra" */
  readonly owner: string
}

const OWNED = `
select t.schema, t.name, t.target, a.attname as col,
  pg_get_serial_sequence(format('%I.%I', t.schema, t.name), a.attname) as seq
from unnest($1::text[], $2::text[], $3::text[]) as t(schema, name, target)
join pg_attribute a on a.attrelid = to_regclass(format('%I.%I', t.schema, t.name))
  and a.attnum > 0 and not a.attisdropped
where pg_get_serial_sequence(format('%I.%I', t.schema, t.name), a.attname) is not null
order by 1, 2, 4`

const COUNTERPART = `
select x.i, pg_get_serial_sequence(format('%I.%I', $1::text, x.target), x.col) as seq
from unnest($2::text[], $3::text[]) with ordinality as x(target, col, i)
where to_regclass(format('%I.%I', $1::text, x.target)) is not null`

const EXISTING = `
select x.i, (select format('%I.%I', n.nspname, c.relname) from pg_class c
    join pg_namespace n on n.oid = c.relnamespace where c.oid = to_regclass(x.name) and c.relkind = 'S') as seq
from unnest($1::text[]) with ordinality as x(name, i)`

interface Owned {
  readonly schema: string
  readonly name: string
  readonly target: string
  readonly col: string
  readonly seq: string
}

const quotedExtra = (name: string) => {
  const dot = name.indexOf(".")
  return qualified(name.slice(0, dot), name.slice(dot + 1))
}

/** the pairs of one source URL of `group` */
export const planSequences = (
  config: WalferryConfig,
  group: SourceGroup,
  source: pg.ClientBase,
  destination: pg.ClientBase
): Effect.Effect<ReadonlyArray<SequencePair>, QueryFailed> =>
  Effect.gen(function* () {
    const tables = group.tables
    const owned = yield* query<Owned>(source, OWNED, [
      tables.map((t) => t.schema),
      tables.map((t) => t.name),
      tables.map((t) => t.target)
    ])
    const counterparts = yield* query<{ i: string; seq: string | null }>(destination, COUNTERPART, [
      config.destination.schema,
      owned.map((o) => o.target),
      owned.map((o) => o.col)
    ])
    const byIndex = new Map(counterparts.map((c) => [Number(c.i) - 1, c.seq ?? undefined]))
    const pairs: Array<SequencePair> = owned.map((o, i) => ({
      source: o.seq,
      destination: byIndex.get(i),
      owner: `${o.schema}.${o.name}.${o.col}`
    }))
    const extra = config.sequences?.extra ?? []
    if (extra.length === 0) return pairs
    const names = extra.map(quotedExtra)
    const onSource = yield* query<{ i: string; seq: string | null }>(source, EXISTING, [names])
    const onDestination = yield* query<{ i: string; seq: string | null }>(destination, EXISTING, [names])
    const destByIndex = new Map(onDestination.map((c) => [Number(c.i) - 1, c.seq ?? undefined]))
    for (const row of onSource) {
      const i = Number(row.i) - 1
      if (row.seq === null) continue
      pairs.push({ source: row.seq, destination: destByIndex.get(i), owner: "extra" })
    }
    return pairs
  })

/** extra sequences missing on the source (named in config, reported by the sync) */
export const missingExtras = (
  config: WalferryConfig,
  source: pg.ClientBase
): Effect.Effect<ReadonlyArray<string>, QueryFailed> => {
  const extra = config.sequences?.extra ?? []
  if (extra.length === 0) return Effect.succeed([])
  return Effect.map(query<{ i: string; seq: string | null }>(source, EXISTING, [extra.map(quotedExtra)]), (rows) =>
    rows.filter((r) => r.seq === null).map((r) => extra[Number(r.i) - 1]!)
  )
}
