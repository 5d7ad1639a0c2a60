/**
 * Cluster fault-test support: each source database has a history table with a trigger-fed audit log (so the
 * exact expected versions are known, as in HistoryCrash.test.ts), a clone table, and a `tick` row a ticker
 * updates every 100 ms with the client's clock (so the destination shows when a source's new changes start to
 * be applied again after a kill, and which LSNs bound each tick, for the acknowledgement sampler). All sources
 * feed shared destination tables through `sid`.
 */
import pg from "pg"
import { lsnOf, seededRandom, sleep } from "./WalferryProcess.js"

export const SOURCE_DDL = `
  create table h_t (id int primary key, v int not null, note text);
  create table h_audit (seq bigserial primary key, x xid, seed boolean not null default false, op text not null,
    old_id int, id int, v int, note text);
  create index on h_audit (old_id, seq);
  create table c_t (id int primary key, v int not null, note text);
  create table tick (id int primary key, at_ms bigint not null, n bigint not null);
  insert into tick values (1, 0, 0);
  insert into h_t select g, g % 97, 'seed ' || g from generate_series(1, 200) g;
  insert into c_t select g, g % 13, 'seed ' || g from generate_series(1, 300) g;
  insert into h_audit (seed, op, id, v, note) select true, 'I', id, v, note from h_t;
  create function h_audit_f() returns trigger language plpgsql as $$
  declare x xid := (txid_current() % 4294967296)::text::xid;
  begin
    if tg_op = 'INSERT' then
      insert into h_audit (x, op, id, v, note) values (x, 'I', new.id, new.v, new.note);
    elsif tg_op = 'UPDATE' then
      insert into h_audit (x, op, old_id, id, v, note) values (x, 'U', old.id, new.id, new.v, new.note);
    else
      insert into h_audit (x, op, old_id) values (x, 'D', old.id);
    end if;
    return null;
  end $$;
  create trigger h_audit_t after insert or update or delete on h_t for each row execute function h_audit_f();`

const HISTORY = `kvsz_start timestamptz not null default '1900-01-01', kvsz_end timestamptz not null default '9999-01-01',
  kvsz_deleted boolean not null default false, kvsz_lsn numeric`
export const DEST_DDL = `
  create table h_all (kvsz_id bigserial, sid text, id int, v int not null, note text, ${HISTORY},
    primary key (sid, id, kvsz_id));
  create table c_all (sid text, id int, v int not null, note text, primary key (sid, id));
  create table tick_all (sid text, id int, at_ms bigint not null, n bigint not null, primary key (sid, id));`

export const TABLES = {
  h_t: { type: "history", target: "h_all" },
  c_t: { target: "c_all" },
  tick: { target: "tick_all" }
} as const

const TS = `'YYYY-MM-DD HH24:MI:SS.US'`

/** one line per expected version of h_t, from the audit log (the source must be idle) */
export const EXPECTED_SQL = `
  with a as (
    select seq, op, old_id, id, v, note,
      case when seed then timestamptz '1900-01-01 00:00:00+00' else pg_xact_commit_timestamp(x) end as ts
    from h_audit
  )
  select concat_ws('|', o.id, o.v, coalesce(o.note, '∅'), to_char(o.ts at time zone 'UTC', ${TS}),
      coalesce(to_char(c.ts at time zone 'UTC', ${TS}), 'open'), coalesce(c.op = 'D', false)) as line
  from a o left join lateral (
    select a.ts, a.op from a where a.old_id = o.id and a.seq > o.seq order by a.seq limit 1
  ) c on true
  where o.op in ('I', 'U')`

/** the same line for each stored version of one sid */
export const STORED_SQL = `
  select concat_ws('|', id, v, coalesce(note, '∅'), to_char(kvsz_start at time zone 'UTC', ${TS}),
      case when kvsz_end >= '9998-12-31' then 'open' else to_char(kvsz_end at time zone 'UTC', ${TS}) end,
      kvsz_deleted) as line
  from h_all where sid = $1`

/** digest of the clone table (source: all rows; destination: one sid's rows) */
export const CLONE_SOURCE_SQL = `select count(*)::int as n, coalesce(md5(string_agg(concat_ws('|', id, v, note), ',' order by id)), '-') as h from c_t`
export const CLONE_DEST_SQL = `select count(*)::int as n, coalesce(md5(string_agg(concat_ws('|', id, v, note), ',' order by id)), '-') as h from c_all where sid = $1`

/** one committed tick: `tick.n` became `n`; its change's LSN ≥ `before`, its commit record ends ≤ `after` */
export interface Tick {
  readonly n: number
  readonly before: bigint
  readonly after: bigint
}

type Rand = () => number
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1))
const KEYS = 300

const randomOp = (r: Rand): [string, Array<unknown>] => {
  const k = r()
  const note = `n${int(r, 0, 1e6)}`
  const id = int(r, 1, KEYS)
  if (k < 0.15) {
    return [
      "insert into h_t values ($1, $2, $3) on conflict (id) do update set v = excluded.v, note = excluded.note",
      [id, int(r, 0, 1000), note]
    ]
  }
  if (k < 0.35) return ["update h_t set v = v + 1, note = $2 where id = $1", [id, note]]
  if (k < 0.42) return ["delete from h_t where id = $1", [id]]
  if (k < 0.48) {
    return [
      "update h_t set id = $2, v = v + 1 where id = $1 and not exists (select 1 from h_t where id = $2)",
      [id, int(r, 1, KEYS)]
    ]
  }
  if (k < 0.65) {
    return [
      "insert into c_t values ($1, $2, $3) on conflict (id) do update set v = excluded.v, note = excluded.note",
      [id, int(r, 0, 1000), note]
    ]
  }
  if (k < 0.8) return ["update c_t set v = v + 1, note = $2 where id = $1", [id, note]]
  if (k < 0.86) return ["update c_t set v = (v * 7) % 1000 where id between $1 and $1 + 10", [id]]
  if (k < 0.93) return ["delete from c_t where id = $1", [id]]
  return [
    "update c_t set id = $2 where id = $1 and not exists (select 1 from c_t where id = $2)",
    [id, int(r, 1, KEYS)]
  ]
}

/** one loop of small random transactions per URL, plus a ticker per URL (every 100 ms) */
export const startClusterWorkload = (urls: ReadonlyArray<string>, seed: number) => {
  const stats = { committed: 0, rolledBack: 0, errors: 0, ticks: 0 }
  let stopped = false
  const withClient = async (url: string, body: (c: pg.Client) => Promise<void>) => {
    const client = new pg.Client({ connectionString: url })
    client.on("error", () => undefined)
    await client.connect()
    try {
      await body(client)
    } finally {
      await client.end().catch(() => undefined)
    }
  }
  const loop = (url: string, i: number) =>
    withClient(url, async (client) => {
      const r = seededRandom(seed * 31 + i)
      while (!stopped) {
        try {
          await client.query("begin")
          const n = int(r, 1, 4)
          for (let j = 0; j < n; j++) await client.query(...randomOp(r))
          if (r() < 0.05) {
            await client.query("rollback")
            stats.rolledBack++
          } else {
            await client.query("commit")
            stats.committed++
          }
        } catch {
          stats.errors++
          await client.query("rollback").catch(() => undefined)
        }
        await sleep(2 + r() * 10)
      }
    })
  const ticks: Array<Array<Tick>> = urls.map(() => [])
  const ticker = (url: string, u: number) =>
    withClient(url, async (client) => {
      while (!stopped) {
        try {
          const before = await client.query<{ l: string }>("select pg_current_wal_insert_lsn()::text as l")
          const { rows } = await client.query<{ n: string }>(
            "update tick set at_ms = $1, n = n + 1 where id = 1 returning n::text as n",
            [Date.now()]
          )
          // autocommit: the commit record is written (and flushed) before the update returns
          const after = await client.query<{ l: string }>("select pg_current_wal_lsn()::text as l")
          ticks[u]!.push({ n: Number(rows[0]!.n), before: lsnOf(before.rows[0]!.l), after: lsnOf(after.rows[0]!.l) })
          stats.ticks++
        } catch {
          stats.errors++
        }
        await sleep(100)
      }
    })
  const loops = urls.flatMap((url, u) => [loop(url, u), ticker(url, u)])
  return {
    stats,
    /** per URL, every tick committed: its counter and bounds of its LSNs (change ≥ before, commit end ≤ after) */
    ticks: ticks as ReadonlyArray<ReadonlyArray<Tick>>,
    stop: async () => {
      stopped = true
      await Promise.all(loops)
      return stats
    }
  }
}

/** what is in `expected` and not in `got` (and the reverse), as multisets; at most `limit` lines each */
export const multisetDiff = (expected: ReadonlyArray<string>, got: ReadonlyArray<string>, limit = 12) => {
  const count = new Map<string, number>()
  for (const l of expected) count.set(l, (count.get(l) ?? 0) + 1)
  const extra: Array<string> = []
  for (const l of got) {
    const n = count.get(l) ?? 0
    if (n > 0) count.set(l, n - 1)
    else extra.push(l)
  }
  const missing = [...count].flatMap(([l, n]) => Array.from({ length: n }, () => l))
  return { missing: missing.slice(0, limit), extra: extra.slice(0, limit), counts: [missing.length, extra.length] }
}

/** p-th percentile (0..100) of `xs` (nearest rank) */
export const percentile = (xs: ReadonlyArray<number>, p: number): number => {
  if (xs.length === 0) return NaN
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!
}
