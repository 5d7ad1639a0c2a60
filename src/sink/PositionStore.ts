/**
 * Per-table apply positions, stored on the destination in schema `walferry`, written in the same
 * transaction as every batch. They make replays exactly-once per table: a change at or before the
 * stored (lsn, seq) of its source was already applied and is skipped.
 */
import { Effect } from "effect"
import type pg from "pg"
import * as Lsn from "../domain/Lsn.js"
import type { Sql } from "../apply/clone/ApplySql.js"
import type { Position } from "./Sink.js"
import { WriteFailed } from "../writers/WriteFailed.js"

const DDL = `
create schema if not exists walferry;
create table if not exists walferry.positions (
  target text not null,
  source text not null,
  lsn pg_lsn not null,
  seq integer not null,
  updated_at timestamptz not null default now(),
  primary key (target, source)
)`

export const ensurePositionStore = (pool: pg.Pool) =>
  Effect.tryPromise({
    try: () => pool.query(DDL),
    catch: (e) =>
      new WriteFailed({
        table: "walferry.positions",
        retryable: false,
        sqlstate: (e as { code?: string }).code,
        column: undefined,
        detail: `cannot create walferry's state schema on the destination: ${(e as Error).message}`
      })
  }).pipe(Effect.asVoid)

export const loadPositions = async (client: pg.ClientBase, target: string): Promise<Map<string, Position>> => {
  const { rows } = await client.query<{ source: string; lsn: string; seq: number }>(
    "select source, lsn::text as lsn, seq from walferry.positions where target = $1",
    [target]
  )
  return new Map(rows.map((r) => [r.source, { lsn: Lsn.parse(r.lsn), seq: r.seq }]))
}

/** the upsert of a table's positions, as one statement with parameters */
export const positionsSql = (target: string, positions: ReadonlyMap<string, Position>): Sql => {
  const sources: Array<string> = []
  const lsns: Array<string> = []
  const seqs: Array<number> = []
  for (const [source, p] of positions) {
    sources.push(source)
    lsns.push(Lsn.format(p.lsn))
    seqs.push(p.seq)
  }
  return {
    text: `insert into walferry.positions (target, source, lsn, seq)
     select $1, s, l::pg_lsn, q from unnest($2::text[], $3::text[], $4::int[]) as p(s, l, q)
     on conflict (target, source) do update set lsn = excluded.lsn, seq = excluded.seq, updated_at = now()`,
    values: [target, sources, lsns, seqs]
  }
}

export const savePositions = async (
  client: pg.ClientBase,
  target: string,
  positions: ReadonlyMap<string, Position>
): Promise<void> => {
  await client.query(positionsSql(target, positions))
}

/** forget positions (a table is about to be copied again from scratch) */
export const resetPositions = async (client: pg.ClientBase, target: string, source: string): Promise<void> => {
  await client.query("delete from walferry.positions where target = $1 and source = $2", [target, source])
}

/** every stored position of one source, by target */
export const loadSourcePositions = async (
  client: pg.Pool | pg.ClientBase,
  source: string
): Promise<Map<string, Position>> => {
  const { rows } = await client.query<{ target: string; lsn: string; seq: number }>(
    "select target, lsn::text as lsn, seq from walferry.positions where source = $1",
    [source]
  )
  return new Map(rows.map((r) => [r.target, { lsn: Lsn.parse(r.lsn), seq: r.seq }]))
}
