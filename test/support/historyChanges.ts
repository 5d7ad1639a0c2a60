/**
 * History-mode test support: a change source whose transactions carry commit times (the `changes.ts`
 * source gives every change time 0), and a destination database where `apply` runs one batch through
 * applyHistory in its own transaction and counts the statements it sent.
 */
import pg from "pg"
import type { Change, RowChange, TruncateChange } from "../../src/domain/Change.js"
import type { Relation } from "../../src/domain/Relation.js"
import type { ApplyStats } from "../../src/apply/clone/CloneApply.js"
import { applyHistory } from "../../src/apply/history/HistoryApply.js"
import { historyTargetOf, type HistoryTarget } from "../../src/apply/history/HistoryTarget.js"
import { loadTarget, source, type Row } from "./changes.js"
import { startTestPg, type TestPg } from "./Pg.js"
import { latestVersion } from "./versions.js"

export const HISTORY = { start: "kvsz_start", end: "kvsz_end", deleted: "kvsz_deleted", lsn: "kvsz_lsn" }

/** 2026-01-01 00:00:00 UTC */
export const T0 = 1_767_225_600_000_000n

/** changes of one source; every change of a transaction has its commit time, `commit` starts the next one */
export const historySource = (sid = "", firstUs = T0) => {
  const s = source(sid)
  let time = firstUs
  const at = <C extends RowChange | TruncateChange>(c: C): C => ({ ...c, commitTimeUs: time })
  return {
    get timeUs() {
      return time
    },
    commit: (stepUs = 1_000_000n) => {
      s.commit()
      time += stepUs
    },
    insert: (rel: Relation, r: Row) => at(s.insert(rel, r)),
    update: (rel: Relation, r: Row, old?: Row) => at(s.update(rel, r, old)),
    delete: (rel: Relation, old: Row) => at(s.delete(rel, old)),
    truncate: (rel: Relation) => at(s.truncate(rel))
  }
}

export interface HistoryResult extends ApplyStats {
  /** client.query calls made by applyHistory (BEGIN and COMMIT excluded) */
  readonly sent: number
  readonly ms: number
}

export interface TableOptions {
  readonly sid?: boolean
  /** type of the position column, default numeric */
  readonly lsn?: string
  /** primary key columns, default [sid,] id, kvsz_id; null: no primary key (no index on the business key) */
  readonly pk?: string | null | undefined
}

export interface HistoryDb {
  readonly server: TestPg
  readonly sql: (text: string, params?: ReadonlyArray<unknown>) => Promise<Array<any>>
  /** creates public.<name>: [sid,] id int, name text, salary int, kvsz_id bigserial and the history columns */
  readonly create: (name: string, options?: TableOptions) => Promise<unknown>
  readonly target: (name: string, schema?: string) => Promise<HistoryTarget>
  readonly apply: (target: HistoryTarget, batch: ReadonlyArray<Change>) => Promise<HistoryResult>
  /** versions as {id, name, salary, start, end, deleted}, times in µs since the epoch ("open"), in chain order */
  readonly versions: (table: string, where?: string) => Promise<Array<any>>
  /** every column but the surrogate, as sorted JSON texts: equal snapshots = equal histories */
  readonly snapshot: (table: string) => Promise<Array<string>>
  readonly close: () => Promise<void>
}

const us = (column: string) =>
  `case when ${column} = timestamptz '9999-01-01 00:00:00+00' then 'open'
    else (extract(epoch from ${column}) * 1000000)::bigint::text end`

export const openHistoryDb = async (): Promise<HistoryDb> => {
  const server = await startTestPg({ version: latestVersion() })
  const url = await server.createDatabase("history")
  const admin = new pg.Client({ connectionString: url })
  const client = new pg.Client({ connectionString: url })
  await admin.connect()
  await client.connect()
  let sent = 0
  const query = client.query.bind(client) as (...args: Array<unknown>) => unknown
  client.query = ((...args: Array<unknown>) => {
    sent++
    return query(...args)
  }) as typeof client.query
  const sql = async (text: string, params: ReadonlyArray<unknown> = []) => (await admin.query(text, [...params])).rows
  const apply = async (target: HistoryTarget, batch: ReadonlyArray<Change>): Promise<HistoryResult> => {
    await client.query("begin")
    sent = 0
    const started = performance.now()
    try {
      const stats = await applyHistory(client, target, batch)
      const result = { ...stats, sent, ms: performance.now() - started }
      await client.query("commit")
      return result
    } catch (e) {
      await client.query("rollback")
      throw e
    }
  }
  const create = (name: string, options: TableOptions = {}) => {
    const sid = options.sid ? "sid text not null, " : ""
    const key = options.pk ?? `${options.sid ? "sid, " : ""}id, kvsz_id`
    return sql(`create table public.${name} (${sid}id int not null, name text, salary int, kvsz_id bigserial,
      kvsz_start timestamptz not null default '1900-01-01 00:00:00+00',
      kvsz_end timestamptz not null default '9999-01-01 00:00:00+00',
      kvsz_deleted boolean not null default false, kvsz_lsn ${options.lsn ?? "numeric"}
      ${options.pk === null ? "" : `, primary key (${key})`})`)
  }
  return {
    server,
    sql,
    create,
    versions: (table, where = "true") =>
      sql(`select id, name, salary, ${us("kvsz_start")} as start, ${us("kvsz_end")} as "end", kvsz_deleted as deleted
        from public.${table} where ${where} order by id, kvsz_start, kvsz_end, kvsz_lsn`),
    snapshot: async (table) =>
      (await sql(`select (to_jsonb(t) - 'kvsz_id')::text as r from public.${table} t`))
        .map((r) => r.r as string)
        .sort(),
    target: async (name, schema = "public") =>
      historyTargetOf(await loadTarget(admin, schema, name), { history: HISTORY }),
    apply,
    close: async () => {
      await client.end().catch(() => undefined)
      await admin.end().catch(() => undefined)
      await server.stop()
    }
  }
}
