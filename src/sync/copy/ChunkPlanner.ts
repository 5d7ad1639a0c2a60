/**
 * Splits a source table into key ranges `(lower, upper]` (lower exclusive, upper inclusive, null = open)
 * covering the whole key space, so rows inserted after planning still fall in exactly one chunk. Works for
 * any key whose type has a btree ordering (bigint, uuid, text with its collation, composite keys): the
 * boundaries are read with `order by` on the source (every chunk_rows-th key; for tables the statistics
 * say are big, from a block sample) and compared there with a row comparison, which follows the same
 * ordering. A table without a key is one chunk. Boundaries are kept as text and turned
 * back into literals by the server (`quote_literal`), never spliced as given.
 */
import { Effect } from "effect"
import type pg from "pg"
import { qualified, query, quoteIdent, type QueryFailed } from "../../lib/Sql.js"
import type { SourceColumn } from "../../source/SourceCatalog.js"
import type { SyncTable } from "../SyncTable.js"

export interface ChunkBounds {
  readonly lower: ReadonlyArray<string> | null
  readonly upper: ReadonlyArray<string> | null
}

export interface ChunkPlan {
  readonly chunks: ReadonlyArray<ChunkBounds>
  /** rows expected (statistics, or counted while sampling boundaries) */
  readonly estimate: number
}

/** above this many estimated chunks boundaries come from a block sample instead of a full ordered scan */
const SAMPLE_ABOVE_CHUNKS = 4
/** sampled blocks per chunk: boundaries fall between whole blocks of consecutive keys */
const BLOCKS_PER_CHUNK = 16

const ESTIMATE_SQL = `
  with recursive tree(oid) as (
    select $1::oid union all select i.inhrelid from pg_inherits i join tree t on i.inhparent = t.oid
  )
  select coalesce(sum(greatest(c.reltuples, 0)), 0)::float8 as n, coalesce(sum(c.relpages), 0)::float8 as pages
  from pg_class c join tree using (oid)`

const keyList = (key: ReadonlyArray<SourceColumn>) => key.map((c) => quoteIdent(c.name)).join(", ")
const keyTexts = (key: ReadonlyArray<SourceColumn>) =>
  key.map((c, i) => `${quoteIdent(c.name)}::text as k${i}`).join(", ")

const boundsOf = (row: Record<string, string>, n: number) => Array.from({ length: n }, (_, i) => row[`k${i}`]!)

const exactBoundaries = (client: pg.ClientBase, t: SyncTable, chunkRows: number) =>
  Effect.map(
    query<Record<string, string> & { rn: string; more: boolean | null }>(
      client,
      `select ${t.key.map((_, i) => `k${i}`).join(", ")}, rn, more from (
         select ${keyTexts(t.key)}, row_number() over w as rn, lead(true) over w as more
         from ${qualified(t.source.schema, t.source.name)} window w as (order by ${keyList(t.key)})
       ) s where rn % $1 = 0 or more is null order by rn`,
      [chunkRows]
    ),
    (rows) => ({
      bounds: rows.filter((r) => r.more === true).map((r) => boundsOf(r, t.key.length)),
      counted: rows.length === 0 ? 0 : Number(rows[rows.length - 1]!.rn)
    })
  )

/** ~BLOCKS_PER_CHUNK random blocks per chunk (statistics must be fresh enough to say how many there are) */
const sampledBoundaries = (client: pg.ClientBase, t: SyncTable, estimate: number, pages: number, chunks: number) => {
  const percent = Math.min(100, (100 * BLOCKS_PER_CHUNK * chunks) / pages)
  return Effect.map(
    query<Record<string, string>>(
      client,
      `select ${keyTexts(t.key)} from ${qualified(t.source.schema, t.source.name)}
       tablesample system ($1) order by ${keyList(t.key)}`,
      [percent]
    ),
    (rows) => {
      const every = rows.length / chunks
      const bounds = Array.from({ length: chunks - 1 }, (_, i) => rows[Math.floor((i + 1) * every)]).filter(
        (r, i, all) => r !== undefined && (i === 0 || r !== all[i - 1])
      )
      return { bounds: bounds.map((r) => boundsOf(r!, t.key.length)), counted: estimate }
    }
  )
}

/** plans the chunks of `t` reading the source through `client` (inside the copy snapshot when there is one) */
export const planChunks = (
  client: pg.ClientBase,
  t: SyncTable,
  chunkRows: number
): Effect.Effect<ChunkPlan, QueryFailed> =>
  Effect.gen(function* () {
    const [stats] = yield* query<{ n: number; pages: number }>(client, ESTIMATE_SQL, [t.source.oid])
    const estimate = Math.round(stats?.n ?? 0)
    if (t.key.length === 0) return { chunks: [{ lower: null, upper: null }], estimate }
    const expected = Math.ceil(estimate / chunkRows)
    const { bounds, counted } =
      expected > SAMPLE_ABOVE_CHUNKS && t.source.relkind === "r" && (stats?.pages ?? 0) > 0
        ? yield* sampledBoundaries(client, t, estimate, stats!.pages, expected)
        : yield* exactBoundaries(client, t, chunkRows)
    const chunks: Array<ChunkBounds> = []
    let lower: ReadonlyArray<string> | null = null
    for (const upper of bounds) {
      chunks.push({ lower, upper })
      lower = upper
    }
    chunks.push({ lower, upper: null })
    return { chunks, estimate: Math.max(estimate, counted) }
  })

/**
 * ` where (k1, k2) > (…) and (k1, k2) <= (…)` for each chunk, with literals quoted by the server and cast
 * to the key column types; "" for an unbounded chunk
 */
export const chunkPredicates = (
  client: pg.ClientBase,
  t: SyncTable,
  chunks: ReadonlyArray<ChunkBounds>
): Effect.Effect<ReadonlyArray<string>, QueryFailed> =>
  Effect.gen(function* () {
    const values = chunks.flatMap((c) => [...(c.lower ?? []), ...(c.upper ?? [])])
    const quoted = (yield* query<{ q: string }>(
      client,
      "select quote_literal(v) as q from unnest($1::text[]) with ordinality as u(v, i) order by i",
      [values]
    )).map((r) => r.q)
    const wrap = (parts: ReadonlyArray<string>) => (parts.length === 1 ? parts[0]! : `(${parts.join(", ")})`)
    const columns = wrap(t.key.map((c) => quoteIdent(c.name)))
    let next = 0
    const literal = () => wrap(t.key.map((c) => `${quoted[next++]}::${c.typeName}`))
    return chunks.map((c) => {
      const parts: Array<string> = []
      if (c.lower !== null) parts.push(`${columns} > ${literal()}`)
      if (c.upper !== null) parts.push(`${columns} <= ${literal()}`)
      return parts.length === 0 ? "" : ` where ${parts.join(" and ")}`
    })
  })
