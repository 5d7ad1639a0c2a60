/**
 * Durable initial-sync state on the destination (schema `walferry`), one row per (target, source) in
 * `sync_tables` and one per chunk in `sync_chunks`.
 *
 * Guarantees: a plan (its chunks, the clearing of the target and, for a snapshot copy, the reset of the
 * table's positions) is written in one transaction; a chunk is marked done in the same transaction as its
 * rows, so after a crash exactly the chunks not marked done are copied again. A table is `done` only once
 * every chunk is, and no key recorded in `sync_missing` (sync/watermark/MissingRows) waits to be read again; a new
 * plan forgets those keys (its chunks read every row again). `run_id` tells which process copied a chunk.
 */
import type pg from "pg"
import * as Lsn from "../domain/Lsn.js"
import { resetPositions } from "../sink/PositionStore.js"
import type { ChunkBounds, ChunkPlan } from "./copy/ChunkPlanner.js"
import { DEFERRED_DDL } from "./DeferredIndexes.js"
import { forgetAllMissing, MISSING_DDL } from "./watermark/MissingRows.js"
import type { SyncTable } from "./SyncTable.js"
import { clearTarget } from "./SyncSql.js"

export type SyncMethod = "snapshot" | "watermark"

export interface StoredChunk extends ChunkBounds {
  readonly chunk: number
  readonly rows: number | null
  readonly done: boolean
}

export interface StoredPlan {
  readonly target: string
  readonly state: "copying" | "done"
  readonly method: SyncMethod
  readonly estimate: number
  readonly chunks: ReadonlyArray<StoredChunk>
}

const DDL = `
  select pg_advisory_xact_lock(hashtext('walferry.sync_store'));
  create schema if not exists walferry;
  create table if not exists walferry.sync_tables (
    target text not null,
    source text not null,
    source_table text not null,
    method text not null,
    state text not null,
    estimated_rows bigint not null,
    chunk_count integer not null,
    started_at timestamptz not null default now(),
    finished_at timestamptz,
    primary key (target, source)
  );
  create table if not exists walferry.sync_chunks (
    target text not null,
    source text not null,
    chunk integer not null,
    lower_bound text[],
    upper_bound text[],
    method text,
    rows bigint,
    bytes bigint,
    run_id text,
    done_at timestamptz,
    primary key (target, source, chunk)
  );
  alter table walferry.sync_chunks add column if not exists window_from pg_lsn,
    add column if not exists window_to pg_lsn, add column if not exists window_snapshot text;
  ${MISSING_DDL}
  ${DEFERRED_DDL}`

/** the id of this process in `sync_chunks.run_id` */
export const RUN_ID = `${process.pid}-${Date.now().toString(36)}`

export const ensureSyncStore = async (client: pg.ClientBase): Promise<void> => {
  await client.query("begin")
  try {
    await client.query(DDL)
    await client.query("commit")
  } catch (e) {
    await client.query("rollback").catch(() => undefined)
    throw e
  }
}

export const loadPlans = async (client: pg.ClientBase, source: string): Promise<Map<string, StoredPlan>> => {
  const { rows: tables } = await client.query<{
    target: string
    state: "copying" | "done"
    method: SyncMethod
    estimated_rows: string
  }>("select target, state, method, estimated_rows from walferry.sync_tables where source = $1", [source])
  const { rows: chunks } = await client.query<{
    target: string
    chunk: number
    lower_bound: Array<string> | null
    upper_bound: Array<string> | null
    rows: string | null
    done: boolean
  }>(
    `select target, chunk, lower_bound, upper_bound, rows, done_at is not null as done
     from walferry.sync_chunks where source = $1 order by target, chunk`,
    [source]
  )
  return new Map(
    tables.map((t) => [
      t.target,
      {
        target: t.target,
        state: t.state,
        method: t.method,
        estimate: Number(t.estimated_rows),
        chunks: chunks
          .filter((c) => c.target === t.target)
          .map((c) => ({
            chunk: c.chunk,
            lower: c.lower_bound,
            upper: c.upper_bound,
            rows: c.rows === null ? null : Number(c.rows),
            done: c.done
          }))
      }
    ])
  )
}

/** forgets the sync state of targets this source no longer maps (a later remap copies them again) */
export const dropStalePlans = (client: pg.ClientBase, source: string, mapped: ReadonlyArray<string>) =>
  client.query(
    `with gone as (delete from walferry.sync_tables where source = $1 and not (target = any($2::text[])) returning target),
     chunks as (delete from walferry.sync_chunks c using gone where c.source = $1 and c.target = gone.target)
     delete from walferry.sync_missing m where m.source = $1 and not (m.target = any($2::text[]))`,
    [source, [...mapped]]
  )

/**
 * Replaces the plan of (target, source) in one transaction; clears the target (or this sid's rows) first
 * when the table says so or `clear` is set, and a snapshot copy also forgets the table's positions (the
 * slot is new)
 */
export const savePlan = async (
  client: pg.ClientBase,
  t: SyncTable,
  source: string,
  sid: string,
  method: SyncMethod,
  plan: ChunkPlan,
  clear = t.clear
): Promise<StoredPlan> => {
  await client.query("begin")
  try {
    if (clear) await clearTarget(client, t, sid)
    if (method === "snapshot") await resetPositions(client, t.target, source)
    await client.query("delete from walferry.sync_chunks where target = $1 and source = $2", [t.target, source])
    await forgetAllMissing(client, t.target, source)
    await client.query(
      `insert into walferry.sync_tables (target, source, source_table, method, state, estimated_rows, chunk_count)
       values ($1, $2, $3, $4, 'copying', $5, $6)
       on conflict (target, source) do update set source_table = excluded.source_table, method = excluded.method,
         state = 'copying', estimated_rows = excluded.estimated_rows, chunk_count = excluded.chunk_count,
         started_at = now(), finished_at = null`,
      [t.target, source, t.label, method, plan.estimate, plan.chunks.length]
    )
    await client.query(
      `insert into walferry.sync_chunks (target, source, chunk, lower_bound, upper_bound)
       select $1, $2, i - 1,
         case when json_typeof(c->'l') = 'array' then array(select json_array_elements_text(c->'l')) end,
         case when json_typeof(c->'u') = 'array' then array(select json_array_elements_text(c->'u')) end
       from json_array_elements($3::json) with ordinality as b(c, i)`,
      [t.target, source, JSON.stringify(plan.chunks.map((c) => ({ l: c.lower, u: c.upper })))]
    )
    await client.query("commit")
  } catch (e) {
    await client.query("rollback").catch(() => undefined)
    throw e
  }
  return {
    target: t.target,
    state: "copying",
    method,
    estimate: plan.estimate,
    chunks: plan.chunks.map((c, i) => ({ ...c, chunk: i, rows: null, done: false }))
  }
}

/** a whole-table window, kept so a restart can drop the replayed changes its copy already holds */
export interface WindowRecord {
  readonly from: Lsn.Lsn
  readonly to: Lsn.Lsn
  readonly snapshot: string
}

/** inside the chunk's destination transaction */
export const markChunkDone = (
  client: pg.ClientBase,
  target: string,
  source: string,
  chunk: number,
  method: SyncMethod,
  rows: number,
  bytes: number,
  window?: WindowRecord
) =>
  client.query(
    `update walferry.sync_chunks set method = $4, rows = $5, bytes = $6, run_id = $7, done_at = now(),
       window_from = $8::pg_lsn, window_to = $9::pg_lsn, window_snapshot = $10
     where target = $1 and source = $2 and chunk = $3`,
    [
      target,
      source,
      chunk,
      method,
      rows,
      bytes,
      RUN_ID,
      window ? Lsn.format(window.from) : null,
      window ? Lsn.format(window.to) : null,
      window?.snapshot ?? null
    ]
  )

/** the whole-table windows of this source's done chunks */
export const loadWindows = async (client: pg.ClientBase, source: string) => {
  const { rows } = await client.query<{ target: string; f: string; t: string; s: string }>(
    `select target, window_from::text as f, window_to::text as t, window_snapshot as s from walferry.sync_chunks
     where source = $1 and done_at is not null and window_snapshot is not null`,
    [source]
  )
  return rows.map((r) => ({ target: r.target, from: Lsn.parse(r.f), to: Lsn.parse(r.t), snapshot: r.s }))
}

/** true when the table is done now */
export const markTableDone = async (client: pg.ClientBase, target: string, source: string): Promise<boolean> => {
  const { rows } = await client.query<{ done: boolean }>(
    `with u as (update walferry.sync_tables set state = 'done', finished_at = now()
       where target = $1 and source = $2 and not exists (
         select 1 from walferry.sync_chunks where target = $1 and source = $2 and done_at is null)
       and not exists (select 1 from walferry.sync_missing where target = $1 and source = $2)
       returning 1)
     select exists (select 1 from u) or exists (
       select 1 from walferry.sync_tables where target = $1 and source = $2 and state = 'done') as done`,
    [target, source]
  )
  return rows[0]?.done === true
}
