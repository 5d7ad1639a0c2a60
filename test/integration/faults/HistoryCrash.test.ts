/**
 * History (SCD type 2) after crashes of the real walferry process: a mixed workload (inserts, upserts,
 * updates of other columns while a TOASTed column stays unchanged, range updates, deletes, key changes)
 * runs on three source databases while walferry is SIGKILLed at random points and restarted. One source
 * feeds `h_solo` (no sid); two feed `h_multi` through `sid`.
 *
 * Every source change is logged by a trigger in a source-side audit table, in the same transaction, so the
 * expected versions are known exactly: each insert or update opens a version (its columns, start = the
 * transaction's commit time from track_commit_timestamp), ended by the next update or delete of that key
 * (deleted = it was a delete), else open; the rows copied initially start at 1900-01-01. The destination
 * must hold exactly those versions (count and content, no duplicates), chained per key, with exactly one
 * open version per live source row. Replay a failure with WALFERRY_TEST_SEED=<seed printed in the message>.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import {
  seededRandom,
  sleep,
  startWalferry,
  stopAllWalferry,
  testSeed,
  waitStreaming,
  type WalferryProcess
} from "../../support/WalferryProcess.js"

const SOURCE_DDL = `
  create table h_t (id int primary key, v int not null, note text, big text);
  alter table h_t alter column big set storage external;
  create table h_audit (seq bigserial primary key, x xid, seed boolean not null default false, op text not null,
    old_id int, id int, v int, note text, big_md5 text);
  create index on h_audit (old_id, seq);
  insert into h_t select g, g % 97, 'seed ' || g, case when g % 3 = 0 then repeat(md5(g::text), 100) end
    from generate_series(1, 250) g;
  insert into h_audit (seed, op, id, v, note, big_md5) select true, 'I', id, v, note, md5(big) from h_t;
  create function h_audit_f() returns trigger language plpgsql as $$
  declare x xid := (txid_current() % 4294967296)::text::xid;
  begin
    if tg_op = 'INSERT' then
      insert into h_audit (x, op, id, v, note, big_md5) values (x, 'I', new.id, new.v, new.note, md5(new.big));
    elsif tg_op = 'UPDATE' then
      insert into h_audit (x, op, old_id, id, v, note, big_md5)
        values (x, 'U', old.id, new.id, new.v, new.note, md5(new.big));
    else
      insert into h_audit (x, op, old_id) values (x, 'D', old.id);
    end if;
    return null;
  end $$;
  create trigger h_audit_t after insert or update or delete on h_t for each row execute function h_audit_f();`

const HISTORY = `kvsz_start timestamptz not null default '1900-01-01', kvsz_end timestamptz not null default '9999-01-01',
  kvsz_deleted boolean not null default false, kvsz_lsn numeric`
const DEST_DDL = `
  create table h_solo (kvsz_id bigserial, id int, v int not null, note text, big text, ${HISTORY},
    primary key (id, kvsz_id));
  create table h_multi (kvsz_id bigserial, sid text, id int, v int not null, note text, big text, ${HISTORY},
    primary key (sid, id, kvsz_id));`

const TS = `'YYYY-MM-DD HH24:MI:SS.US'`

/** one line per expected version, from the audit log (the source must be idle) */
const EXPECTED_SQL = `
  with a as (
    select seq, op, old_id, id, v, note, big_md5,
      case when seed then timestamptz '1900-01-01 00:00:00+00' else pg_xact_commit_timestamp(x) end as ts
    from h_audit
  )
  select concat_ws('|', o.id, o.v, coalesce(o.note, '∅'), coalesce(o.big_md5, '∅'),
      to_char(o.ts at time zone 'UTC', ${TS}),
      coalesce(to_char(c.ts at time zone 'UTC', ${TS}), 'open'), coalesce(c.op = 'D', false)) as line
  from a o left join lateral (
    select a.ts, a.op from a where a.old_id = o.id and a.seq > o.seq order by a.seq limit 1
  ) c on true
  where o.op in ('I', 'U')`

/** the same line for each stored version */
const storedSql = (table: string, sid: string | null) => `
  select concat_ws('|', id, v, coalesce(note, '∅'), coalesce(md5(big), '∅'),
      to_char(kvsz_start at time zone 'UTC', ${TS}),
      case when kvsz_end >= '9998-12-31' then 'open' else to_char(kvsz_end at time zone 'UTC', ${TS}) end,
      kvsz_deleted) as line
  from ${table} ${sid === null ? "" : `where sid = '${sid}'`}`

/** versions breaking the per-key chain: a position twice, a close before its start, a gap, an open one not last */
const chainSql = (table: string, key: string) => `
  select count(*)::int as n from (
    select kvsz_start, kvsz_end, kvsz_deleted, kvsz_lsn,
      lag(kvsz_end) over w as prev_end, lag(kvsz_lsn) over w as prev_lsn, lead(kvsz_lsn) over w as next_lsn
    from ${table} window w as (partition by ${key} order by kvsz_lsn, kvsz_start)
  ) v
  where kvsz_lsn is null or kvsz_lsn = prev_lsn or kvsz_end < kvsz_start or prev_end > kvsz_start
     or prev_end >= '9998-12-31' or (kvsz_deleted and kvsz_end >= '9998-12-31')
     or (kvsz_end >= '9998-12-31' and next_lsn is not null)`

const WORKLOAD_MS = 12_000
const CLIENTS_PER_DB = 2
const KEYS = 400

type Rand = () => number
const int = (r: Rand, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1))

const randomOp = (r: Rand): [string, Array<unknown>] => {
  const k = r()
  const note = `n${int(r, 0, 1e6)}`
  const id = int(r, 1, KEYS)
  if (k < 0.16) {
    return [
      `insert into h_t values ($1, $2, $3, case when $4 then repeat(md5($3), 100) end)
         on conflict (id) do update set v = excluded.v, note = excluded.note`,
      [id, int(r, 0, 1000), note, r() < 0.4]
    ]
  }
  if (k < 0.4) return ["update h_t set v = v + 1, note = $2 where id = $1", [id, note]]
  if (k < 0.45) return ["update h_t set v = (v * 7) % 1000 where id between $1 and $1 + 8", [id]]
  if (k < 0.5) return ["update h_t set big = repeat(md5($2), 100) where id = $1", [id, note]]
  if (k < 0.53) return ["update h_t set big = null, note = $2 where id = $1", [id, note]]
  if (k < 0.65) return ["delete from h_t where id = $1", [id]]
  return [
    "update h_t set id = $2, v = v + 1 where id = $1 and not exists (select 1 from h_t where id = $2)",
    [id, int(r, 1, KEYS)]
  ]
}

/** CLIENTS_PER_DB loops of small random transactions on each database */
const startWorkload = (urls: ReadonlyArray<string>, seed: number) => {
  const stats = { committed: 0, rolledBack: 0, errors: 0 }
  let stopped = false
  const loop = async (url: string, i: number) => {
    const r = seededRandom(seed * 31 + i)
    const client = new pg.Client({ connectionString: url })
    client.on("error", () => undefined)
    await client.connect()
    try {
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
        await sleep(r() * 6)
      }
    } finally {
      await client.end().catch(() => undefined)
    }
  }
  const loops = urls.flatMap((url, u) =>
    Array.from({ length: CLIENTS_PER_DB }, (_, i) => loop(url, u * CLIENTS_PER_DB + i))
  )
  return {
    stats,
    stop: async () => {
      stopped = true
      await Promise.all(loops)
      return stats
    }
  }
}

/** what is in `expected` and not in `got` (and the reverse), as multisets; at most `limit` lines each */
const multisetDiff = (expected: ReadonlyArray<string>, got: ReadonlyArray<string>, limit = 12) => {
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

describe("history after kill -9 (walferry process, real Postgres)", () => {
  let source: TestPg
  let dest: TestPg

  beforeAll(async () => {
    const servers = await Promise.all([
      startTestPg({ version: latestVersion(), settings: { track_commit_timestamp: "on" } }),
      startTestPg({ version: latestVersion() })
    ])
    source = servers[0]
    dest = servers[1]
  })

  afterAll(async () => {
    await stopAllWalferry()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("keeps exactly one version per source change, with and without sid", async () => {
    const seed = testSeed()
    const r = seededRandom(seed)
    const dbs = ["hsolo", "hm_a", "hm_b"] as const
    for (const db of dbs) {
      await source.createDatabase(db)
      await source.query(SOURCE_DDL, [], db)
    }
    await dest.createDatabase("hdest")
    await dest.query(DEST_DDL, [], "hdest")
    const start = () =>
      startWalferry({
        destination: dest.url("hdest"),
        map: [
          {
            database: "hsolo",
            urls: [{ url: source.url("hsolo"), sid: "s" }],
            tables: { h_t: { type: "history", target: "h_solo" } }
          },
          {
            database: "hmulti",
            urls: [
              { url: source.url("hm_a"), sid: "a" },
              { url: source.url("hm_b"), sid: "b" }
            ],
            tables: { h_t: { type: "history", target: "h_multi" } }
          }
        ],
        tuning: { batch_size: 500, commit_interval_ms: 50, status_interval_ms: 200, shutdown_timeout_ms: 10_000 }
      })

    let proc: WalferryProcess = await start()
    await waitStreaming(proc)
    const began = Date.now()
    const workload = startWorkload(
      dbs.map((db) => source.url(db)),
      seed
    )
    const kills: Array<string> = []
    try {
      const n = int(r, 3, 4)
      for (let k = 0; k < n; k++) {
        await waitStreaming(proc)
        const after = 200 + Math.floor(r() * 2000)
        await sleep(after)
        kills.push(`#${k + 1} at +${Date.now() - began} ms (${after} ms after streaming)`)
        proc.kill("SIGKILL")
        expect((await proc.waitExit(10_000)).signal).toBe("SIGKILL")
        await proc.stop()
        proc = await start()
      }
      await sleep(Math.max(0, WORKLOAD_MS - (Date.now() - began)))
    } finally {
      await workload.stop()
    }
    expect(workload.stats.committed).toBeGreaterThan(200)

    const lines = (rows: ReadonlyArray<{ line: string }>) => rows.map((x) => x.line).sort()
    const cases = [
      { label: "h_solo", table: "h_solo", key: "id", parts: [{ db: "hsolo", sid: null }] },
      {
        label: "h_multi",
        table: "h_multi",
        key: "sid, id",
        parts: [
          { db: "hm_a", sid: "a" },
          { db: "hm_b", sid: "b" }
        ]
      }
    ] as const
    const expected = new Map<string, Array<string>>()
    for (const c of cases) {
      for (const p of c.parts) {
        expected.set(`${c.table}/${p.sid}`, lines(await source.query<{ line: string }>(EXPECTED_SQL, [], p.db)))
      }
    }
    const stored = async () => {
      const out = new Map<string, Array<string>>()
      for (const c of cases) {
        for (const p of c.parts) {
          out.set(
            `${c.table}/${p.sid}`,
            lines(await dest.query<{ line: string }>(storedSql(c.table, p.sid), [], "hdest"))
          )
        }
      }
      return out
    }
    const until = Date.now() + 60_000
    let got = await stored()
    while (Date.now() < until && JSON.stringify([...got]) !== JSON.stringify([...expected]) && !proc.exited()) {
      await sleep(500)
      got = await stored()
    }
    const context = `seed ${seed}; kills: ${kills.join("; ")}; workload ${JSON.stringify(workload.stats)}`
    console.log(
      `history crash test: ${context}; versions ${JSON.stringify([...expected].map(([p, v]) => [p, v.length]))}`
    )
    for (const [part, want] of expected) {
      const have = got.get(part) ?? []
      expect(want.length, `${part}: the workload changed too little; ${context}`).toBeGreaterThan(500)
      expect(
        multisetDiff(want, have),
        `${part}: ${want.length} expected versions, ${have.length} stored; ${context}\n${proc.output()}`
      ).toEqual({ missing: [], extra: [], counts: [0, 0] })
    }

    for (const c of cases) {
      const [broken] = await dest.query<{ n: number }>(chainSql(c.table, c.key), [], "hdest")
      expect(broken!.n, `${c.table}: versions breaking the chain; ${context}`).toBe(0)
      for (const p of c.parts) {
        const open = await dest.query<{ line: string }>(
          `select concat_ws('|', id, v, note, md5(big)) as line from ${c.table}
           where kvsz_end >= '9998-12-31' ${p.sid === null ? "" : `and sid = '${p.sid}'`}`,
          [],
          "hdest"
        )
        const live = await source.query<{ line: string }>(
          "select concat_ws('|', id, v, note, md5(big)) as line from h_t",
          [],
          p.db
        )
        expect(lines(open), `${c.table}/${p.sid}: open versions vs live source rows; ${context}`).toEqual(lines(live))
      }
    }
    const status = await proc.status()
    expect(status.tables.filter((t) => t.state !== "streaming")).toEqual([])
    await proc.stop()
  })
})
