/**
 * The OLTP mix of bench:oltp, on the source: pgbench's TPC-B-like transaction (one random row of a
 * 1,000,000-row `accounts`, one of 100 `tellers`, one of 10 `branches`, an insert into the keyless
 * `history`), and with --rich also an update of a row whose wide column stays TOASTed and unchanged (`docs`)
 * and, in one transaction of ten, a delete and re-insert of an account. Transactions are generated inside
 * the server by a procedure that commits after each one, so the generator costs no round trips.
 */
import pg from "pg"
import type { PgServer } from "../test/support/PgServer.js"

export const ACCOUNTS = 1_000_000

export const SCHEMA = `
create table accounts (aid int primary key, bid int not null, abalance int not null, filler char(84));
create table tellers (tid int primary key, bid int not null, tbalance int not null, filler char(84));
create table branches (bid int primary key, bbalance int not null, filler char(88));
create table history (tid int, bid int, aid int, delta int, mtime timestamptz, filler char(22));
create table docs (id int primary key, counter int not null, body text not null);
alter table docs alter column body set storage external;`

/** destination tables: the same, plus the arrival time of each history row (lag) */
export const DEST_SCHEMA = SCHEMA.replace(
  "filler char(22));",
  "filler char(22), arrived timestamptz default clock_timestamp());"
)

export const TABLES = ["accounts", "tellers", "branches", "history", "docs"] as const

const POPULATE = `
insert into branches select b, 0, '' from generate_series(1, 10) b;
insert into tellers select t, 1 + (t - 1) / 10, 0, '' from generate_series(1, 100) t;
insert into accounts select a, 1 + (a - 1) / 100000, 0, '' from generate_series(1, ${ACCOUNTS}) a;
insert into docs select d, 0, repeat(md5(d::text), 128) from generate_series(1, 1000) d;`

const procedure = (rich: boolean) => `
create or replace procedure tpcb(n int) language plpgsql as $$
declare a int; t int; b int; d int; x int;
begin
  for i in 1..n loop
    a := 1 + floor(random() * ${ACCOUNTS}); t := 1 + floor(random() * 100); b := 1 + floor(random() * 10);
    d := floor(random() * 10001) - 5000;
    update accounts set abalance = abalance + d where aid = a;
    update tellers set tbalance = tbalance + d where tid = t;
    update branches set bbalance = bbalance + d where bid = b;
    insert into history (tid, bid, aid, delta, mtime) values (t, b, a, d, clock_timestamp());
    ${
      rich
        ? `update docs set counter = counter + 1 where id = 1 + floor(random() * 1000);
    if random() < 0.1 then
      x := 1 + floor(random() * ${ACCOUNTS});
      delete from accounts where aid = x;
      insert into accounts values (x, 1 + (x - 1) / 100000, d, '');
    end if;`
        : ""
    }
    commit;
  end loop;
end $$;`

/** row changes one transaction makes (for changes/s) */
export const changesPerTx = (rich: boolean) => (rich ? 4 + 1 + 0.2 : 4)

export const prepareSource = async (src: PgServer, db: string, rich: boolean) => {
  await src.query(SCHEMA, [], db)
  await src.query(POPULATE, [], db)
  await src.query("vacuum analyze", [], db)
  await src.query(procedure(rich), [], db)
}

/** `total` transactions from `sessions` connections at once, as fast as the server takes them */
export const backlog = async (src: PgServer, db: string, total: number, sessions = 2) => {
  const per = Math.ceil(total / sessions)
  await Promise.all(
    Array.from({ length: sessions }, async (_, k) => {
      const c = new pg.Client({ connectionString: src.url(db) })
      await c.connect()
      const n = Math.min(per, total - k * per)
      for (let done = 0; done < n; done += 10_000) await c.query("call tpcb($1)", [Math.min(10_000, n - done)])
      await c.end()
    })
  )
}

/**
 * One transaction per round trip from `clients` connections for `seconds` (unthrottled, or at `tps` in all
 * when > 0): the rate a source sustains beside a consumer running at the same time. Returns transactions.
 */
export const liveLoad = async (src: PgServer, db: string, seconds: number, clients: number, tps: number) => {
  const conns = await Promise.all(
    Array.from({ length: clients }, async () => {
      const c = new pg.Client({ connectionString: src.url(db) })
      await c.connect()
      return c
    })
  )
  const start = performance.now()
  const end = start + seconds * 1000
  let issued = 0
  await Promise.all(
    conns.map(async (c) => {
      while (performance.now() < end) {
        const i = issued++
        if (tps > 0) {
          const wait = start + (i * 1000) / tps - performance.now()
          if (wait > 1) await new Promise((r) => setTimeout(r, wait))
          if (performance.now() >= end) break
        }
        await c.query("call tpcb(1)")
      }
    })
  )
  const elapsed = (performance.now() - start) / 1000
  await Promise.all(conns.map((c) => c.end()))
  const [{ n }] = await src.query(`select count(*)::int n from history`, [], db)
  return { elapsed, total: n as number }
}

const CHECKSUM: Record<(typeof TABLES)[number], string> = {
  accounts: "aid, bid, abalance, filler",
  tellers: "tid, bid, tbalance, filler",
  branches: "bid, bbalance, filler",
  history: "tid, bid, aid, delta, mtime, filler",
  docs: "id, counter, md5(body)"
}

/** order-independent checksum of every table (count and sum of row hashes) */
export const checksums = async (client: pg.Client): Promise<Record<string, string>> => {
  const out: Record<string, string> = {}
  for (const t of TABLES) {
    const [r] = (
      await client.query(
        `select count(*)::bigint n, coalesce(sum(hashtext(x::text)::bigint), 0)::bigint h from (select ${CHECKSUM[t]} from ${t}) x`
      )
    ).rows
    out[t] = `${r.n}/${r.h}`
  }
  return out
}

/** the small tables' balances: they equal the source's only once its last transaction is applied */
export const hotSums = async (client: pg.Client): Promise<string> => {
  const [r] = (
    await client.query(`select (select sum(bbalance) from branches) b, (select sum(tbalance) from tellers) t,
      (select sum(counter) from docs) d`)
  ).rows
  return `${r.b}/${r.t}/${r.d}`
}

/**
 * the large table's balance: a scan, so polled only once the small tables are equal; it tells a batch of
 * accounts still on its way from a finished one before the checksums (every table read in full) are taken
 */
export const accountsSum = async (client: pg.Client): Promise<string> =>
  String((await client.query("select sum(abalance) s from accounts")).rows[0].s)

/** rows of the keyless table: a scan, so polled only once the balances are equal */
export const historyCount = async (client: pg.Client): Promise<number> =>
  Number((await client.query("select count(*) n from history")).rows[0].n)
