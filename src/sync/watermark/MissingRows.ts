/**
 * What the clone writers need to know about online (watermark) copies: whether the copy of a (target,
 * source) runs in this process (marked by the sync before the source's changes stream: a table just added
 * streams before its copy is planned; unmarked once it is done), and, written inside their apply
 * transaction on the destination, the keys of rows its copy must read again (`walferry.sync_missing`).
 *
 * While a copy runs, a destination row can be missing only because its chunk is not copied yet. An update
 * that carries unchanged-TOAST columns cannot be inserted as a full row then, so the writer drops it: the
 * chunk, read later from the source, holds the row with the update. A key change moves the row, possibly
 * into a chunk already copied: the writer records its new key here, and the copy reads those keys again
 * (a watermark window over just these keys) before the table counts as copied.
 */
import type pg from "pg"

export const MISSING_DDL = `
  create table if not exists walferry.sync_missing (
    target text not null,
    source text not null,
    key jsonb not null,
    recorded_at timestamptz not null default now(),
    primary key (target, source, key)
  );`

/** (target → sources) whose online copy runs in this process, from before their changes stream until done */
const copying = new Map<string, Set<string>>()

/** the copy of `target` from `source` runs, or is about to: call it before the source's changes are applied */
export const markCopying = (target: string, source: string): void => {
  let sources = copying.get(target)
  if (sources === undefined) copying.set(target, (sources = new Set()))
  sources.add(source)
}

/** the copy is done (marked so on the destination) */
export const unmarkCopying = (target: string, source: string): void => {
  const sources = copying.get(target)
  sources?.delete(source)
  if (sources?.size === 0) copying.delete(target)
}

/** the sources among `sources` whose copy of `target` runs */
export const copyingSources = (target: string, sources: Iterable<string>): ReadonlySet<string> => {
  const running = copying.get(target)
  const out = new Set<string>()
  if (running !== undefined) for (const s of sources) if (running.has(s)) out.add(s)
  return out
}

/** records keys (column name → text value) the copy of (target, source) must read again */
export const recordMissing = (
  client: pg.ClientBase,
  target: string,
  keys: ReadonlyArray<{ readonly source: string; readonly key: Readonly<Record<string, string | null>> }>
) =>
  client.query(
    `insert into walferry.sync_missing (target, source, key)
     select $1, s, k::jsonb from unnest($2::text[], $3::text[]) as d(s, k) on conflict do nothing`,
    [target, keys.map((k) => k.source), keys.map((k) => JSON.stringify(k.key))]
  )

export interface MissingKey {
  /** the stored jsonb text, to delete it once read again */
  readonly id: string
  readonly key: Readonly<Record<string, string | null>>
}

export const loadMissing = async (
  client: pg.ClientBase,
  target: string,
  source: string,
  limit: number
): Promise<Array<MissingKey>> => {
  const { rows } = await client.query<{ k: string }>(
    `select key::text as k from walferry.sync_missing where target = $1 and source = $2 order by recorded_at limit $3`,
    [target, source, limit]
  )
  return rows.map((r) => ({ id: r.k, key: JSON.parse(r.k) as Record<string, string | null> }))
}

/** inside the destination transaction that landed the rows read again */
export const forgetMissing = (client: pg.ClientBase, target: string, source: string, ids: ReadonlyArray<string>) =>
  client.query(`delete from walferry.sync_missing where target = $1 and source = $2 and key = any($3::jsonb[])`, [
    target,
    source,
    [...ids]
  ])

/** every record of (target, source): a fresh plan copies every row again, a whole-table copy holds them all */
export const forgetAllMissing = (client: pg.ClientBase, target: string, source: string) =>
  client.query(`delete from walferry.sync_missing where target = $1 and source = $2`, [target, source])
