/**
 * First start on sources 13, 15 and 17 (one group, `sid` per source) with existing rows: every table is
 * copied from the slot's exported snapshot in key-range chunks (bigint, uuid, text, composite keys; a
 * keyless table whole; a partitioned source through its parent; a renamed target fed a column subset),
 * then streams. Targets that already had rows: truncate-then-copy clears only this sid's rows,
 * upsert-copy keeps the others and overwrites the copied keys.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type TestPg } from "../../support/Pg.js"
import { testVersions } from "../../support/versions.js"
import { startSourcesAndDestination, stopServers } from "../../support/servers.js"
import { pipelineConfig, startEngine, waitFor, type RunningEngine } from "../../support/engine.js"
import { digest, syncChunks, syncDone, syncTables, withTableOptions } from "../../support/syncSupport.js"

const ROWS = 6_000
const CHUNK = 1_000

const SOURCE_DDL = `
  create schema app;
  create table app.orders (id bigint primary key, note text, amount numeric(12,2));
  insert into app.orders select g * 7, 'order ' || g, g / 3.0 from generate_series(1, ${ROWS}) g;
  create table uu (id uuid primary key, v text);
  insert into uu select md5(g::text)::uuid, 'u' || g from generate_series(1, ${ROWS}) g;
  create table words (code text primary key, v int);
  insert into words select 'w' || md5(g::text), g from generate_series(1, ${ROWS}) g;
  create table comp (a int, b text, v text, primary key (a, b));
  insert into comp select g % 37, 'b' || g, repeat('x', g % 50) from generate_series(1, ${ROWS}) g;
  create table nokey (x int, y text);
  alter table nokey replica identity full;
  insert into nokey select g % 100, 'y' || (g % 7) from generate_series(1, 3000) g;
  create table parted (id int primary key, v text) partition by range (id);
  create table parted_a partition of parted for values from (0) to (2000);
  create table parted_b partition of parted for values from (2000) to (4000);
  create table parted_c partition of parted for values from (4000) to (100000);
  insert into parted select g, 'p' || g from generate_series(1, ${ROWS}) g;
  create table wide (id int primary key, keep text, skip text, gen int generated always as (id * 2) stored);
  insert into wide select g, 'k' || g, 's' || g from generate_series(1, ${ROWS}) g;
  create table kept (id int primary key, v text);
  insert into kept select g, 'v' || g from generate_series(1, 500) g;
  create table hist (id int primary key, v text);
  insert into hist select g, 'h' || g from generate_series(1, 2500) g;
  create table logged (id int primary key, v text);
  insert into logged select g, 'l' || g from generate_series(1, 2500) g;`

const DEST_DDL = `
  create table orders (sid text, id bigint, note text, amount numeric(12,2), primary key (sid, id));
  create table uu (sid text, id uuid, v text, primary key (sid, id));
  create table words (sid text, code text, v int, primary key (sid, code));
  create table comp (sid text, a int, b text, v text, primary key (sid, a, b));
  create table nokey (sid text, x int, y text);
  create table parted (sid text, id int, v text, primary key (sid, id));
  create table narrow (sid text, id int, keep text, primary key (sid, id));
  create table kept (sid text, id int, v text, primary key (sid, id));
  create table hist (kvsz_id bigserial, sid text, id int, v text, kvsz_start timestamptz not null,
    kvsz_end timestamptz not null, kvsz_deleted boolean not null default false, kvsz_lsn numeric,
    primary key (sid, id, kvsz_id));
  create table logged (sid text, id int, v text);`

/** rows already on the destination: another sid's, and stale ones of the first and last source */
const EXISTING = (first: string, last: string) => `
  insert into orders values ('other', 1, 'stays', 1), ('${first}', 999999, 'stale', 1), ('${last}', 7, 'stale', 0);
  insert into kept values ('other', 1, 'stays'), ('${last}', 1, 'stale'), ('${last}', 100000, 'only on the destination');
  insert into logged values ('${last}', -1, 'appended before');`

/** source query and destination query (for one sid) of each target, same columns and order */
const CHECKS: Record<string, { src: string; dst: string; order: string }> = {
  orders: { src: "select id, note, amount from app.orders", dst: "select id, note, amount from orders", order: "id" },
  uu: { src: "select id, v from uu", dst: "select id, v from uu", order: "id" },
  words: { src: "select code, v from words", dst: "select code, v from words", order: "code" },
  comp: { src: "select a, b, v from comp", dst: "select a, b, v from comp", order: "a, b" },
  nokey: { src: "select x, y from nokey", dst: "select x, y from nokey", order: "x, y" },
  parted: { src: "select id, v from parted", dst: "select id, v from parted", order: "id" },
  narrow: { src: "select id, keep from wide", dst: "select id, keep from narrow", order: "id" }
}

describe("initial sync on first start (13, 15, 17)", () => {
  const sources: Array<TestPg> = []
  let dest: TestPg
  let engine: RunningEngine

  const sids = () => sources.map((s) => String(s.version))
  const dstFor = (sql: string, sid: string) => `${sql} where sid = '${sid}'`

  beforeAll(async () => {
    const started = await startSourcesAndDestination({
      database: "app",
      sourceSql: SOURCE_DDL,
      destSql: DEST_DDL + EXISTING(String(testVersions()[0]), String(testVersions().at(-1)))
    })
    dest = started.dest
    sources.push(...started.sources)
    const config = pipelineConfig({
      destination: dest.url("dest"),
      sources: [
        {
          database: "app",
          urls: sources.map((s) => ({ url: s.url("app"), sid: String(s.version) })),
          tables: [
            { table: "app.orders", target: "orders" },
            "uu",
            "words",
            "comp",
            "nokey",
            "parted",
            { table: "wide", target: "narrow" },
            "kept",
            { table: "hist", mode: "history" },
            { table: "logged", mode: "append" }
          ]
        }
      ],
      tuning: { syncChunkRows: CHUNK, syncParallelism: 3 }
    })
    engine = startEngine(withTableOptions(config, { kept: { existingRows: "upsert" } }))
    const targets = [...Object.keys(CHECKS), "kept", "hist", "logged"]
    await waitFor("initial sync done", () => syncDone(dest, "dest", targets, sources.length), 120_000)
  })

  afterAll(async () => {
    await engine?.stop()
    await stopServers(sources, dest)
  })

  it("copies every table equal to its source, per sid", async () => {
    for (const s of sources) {
      const sid = String(s.version)
      for (const [target, q] of Object.entries(CHECKS)) {
        const expected = await digest(s, "app", q.src, q.order)
        expect(await digest(dest, "dest", dstFor(q.dst, sid), q.order), `${target} of ${sid}`).toBe(expected)
      }
    }
    expect(engine.failed()).toBe(false)
  })

  it("chunks bigint, uuid, text and composite keys; a keyless table is one chunk", async () => {
    const rows = await syncTables(dest, "dest")
    for (const target of ["orders", "uu", "words", "comp", "parted", "narrow"]) {
      const mine = rows.filter((r) => r.target === target)
      expect(mine).toHaveLength(sources.length)
      for (const r of mine) {
        expect(r.method).toBe("snapshot")
        expect(r.chunk_count).toBeGreaterThanOrEqual(ROWS / CHUNK)
      }
      const chunks = await syncChunks(dest, "dest", target)
      expect(chunks.every((c) => c.done_at !== null && c.method === "snapshot")).toBe(true)
      expect(chunks.reduce((n, c) => n + Number(c.rows), 0)).toBe(ROWS * sources.length)
    }
    expect(rows.filter((r) => r.target === "nokey").map((r) => r.chunk_count)).toEqual(sources.map(() => 1))
  })

  it("truncate-then-copy clears only this sid's rows; upsert-copy keeps the rest", async () => {
    expect(await dest.query("select sid, id, note from orders where sid = 'other'", [], "dest")).toEqual([
      { sid: "other", id: "1", note: "stays" }
    ])
    expect(await dest.query("select count(*)::int as n from orders where note = 'stale'", [], "dest")).toEqual([
      { n: 0 }
    ])
    const last = sids()[sids().length - 1]!
    expect(await dest.query("select sid, id, v from kept where id in (1, 100000) order by 1, 2", [], "dest")).toEqual([
      ...sids().flatMap((sid) => [
        { sid, id: 1, v: "v1" },
        ...(sid === last ? [{ sid, id: 100000, v: "only on the destination" }] : [])
      ]),
      { sid: "other", id: 1, v: "stays" }
    ])
  })

  it("history targets get first-load versions, append targets keep their rows", async () => {
    for (const sid of sids()) {
      expect(
        await dest.query(
          `select count(*)::int as n, min(kvsz_start) = '1900-01-01 00:00:00+00' and max(kvsz_end) = '9999-01-01 00:00:00+00'
             and not bool_or(kvsz_deleted) and max(kvsz_lsn) = 0 and min(v) = 'h1' as ok from hist where sid = $1`,
          [sid],
          "dest"
        )
      ).toEqual([{ n: 2500, ok: true }])
    }
    const last = sids()[sids().length - 1]!
    expect(
      await dest.query("select sid, count(*)::int as n from logged group by sid order by sid", [], "dest")
    ).toEqual(sids().map((sid) => ({ sid, n: sid === last ? 2501 : 2500 })))
  })

  it("streams after the copy: changes made now arrive", async () => {
    for (const s of sources) {
      await s.query(
        `update app.orders set note = 'changed' where id % 11 = 0; delete from uu where v like 'u1%';
         insert into words values ('zzz', -1); update comp set v = 'c' where a = 3; insert into nokey values (-1, 'new');
         update parted set v = 'moved' where id between 1990 and 2010; update wide set keep = 'K' where id < 10`,
        [],
        "app"
      )
    }
    for (const s of sources) {
      const sid = String(s.version)
      for (const [target, q] of Object.entries(CHECKS)) {
        const expected = await digest(s, "app", q.src, q.order)
        await waitFor(
          `${target} of ${sid} after changes`,
          async () => (await digest(dest, "dest", dstFor(q.dst, sid), q.order)) === expected
        )
      }
    }
  })
})
