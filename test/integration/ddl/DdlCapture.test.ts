/**
 * Source DDL captured by walferry's event trigger and applied on the destination in stream order, through the
 * real walferry process, one source per Postgres version under test (each its own group with `ddl: capture`):
 * every DDL kind interleaved with rows before and after it, in one transaction and in separate ones; a
 * history table keeps its versions across a column rename; a renamed target with a column subset; DDL the
 * destination cannot follow stops only its table; after a SIGKILL the replay skips DDL already applied.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { latestVersion, testVersions } from "../../support/versions.js"
import { waitFor } from "../../support/engine.js"
import { startWalferry, stopAllWalferry, waitStreaming, type WalferryProcess } from "../../support/WalferryProcess.js"

const SOURCE_DDL = `
  create table c1 (id int primary key, name text, v int);
  create table c2 (id int primary key, name text, v int);
  create table h1 (id int primary key, note text, v int);
  create table bad (id int primary key, tag text);
  create table gone (id int primary key, v int);
  create table sub (id int primary key, keep text, extra text);
  create table blk (id int primary key, v int);
  create table c3 (id int primary key, zz int);
  insert into bad values (1, 'abc');
  insert into h1 values (1, 'first', 1)`

const HISTORY = `kvsz_id bigserial, kvsz_start timestamptz not null default '1900-01-01',
  kvsz_end timestamptz not null default '9999-01-01', kvsz_deleted boolean not null default false, kvsz_lsn numeric`

const destDdl = (v: number) => `
  create table sub_t_${v} (id int primary key, keep text);
  create table blk_${v} (id int primary key, v int check (v < 100));
  create table h1_${v} (id int, note text, v int, ${HISTORY}, primary key (id, kvsz_id))`

const auto = { auto_create: true }

describe("DDL capture applied in stream order", () => {
  const sources = new Map<number, TestPg>()
  let dest: TestPg
  let proc: WalferryProcess
  const versions = testVersions()

  const start = async () => {
    proc = await startWalferry({
      destination: dest.url("dest"),
      map: versions.map((v) => ({
        database: `v${v}`,
        ddl: "capture",
        urls: [{ url: sources.get(v)!.url("app"), sid: "" }],
        tables: {
          c1: { ...auto, target: `c1_${v}` },
          c2: { ...auto, target: `c2_${v}` },
          c3: { ...auto, target: `c3_${v}` },
          h1: { type: "history", target: `h1_${v}` },
          bad: { ...auto, target: `bad_${v}` },
          gone: { ...auto, target: `gone_${v}` },
          sub: { target: `sub_t_${v}` },
          blk: { target: `blk_${v}` }
        }
      })),
      tuning: { commit_interval_ms: 10 }
    })
    await waitStreaming(proc)
  }

  beforeAll(async () => {
    const started = await Promise.all([...versions, latestVersion()].map((version) => startTestPg({ version })))
    dest = started.pop()!
    versions.forEach((v, i) => sources.set(v, started[i]!))
    await dest.createDatabase("dest")
    for (const v of versions) await dest.query(destDdl(v), [], "dest")
    for (const s of sources.values()) {
      await s.createDatabase("app")
      await s.query(SOURCE_DDL, [], "app")
    }
    await start()
  })

  afterAll(async () => {
    await stopAllWalferry()
    await Promise.all([...[...sources.values()].map((s) => s.stop()), dest?.stop()])
  })

  const onSource = (v: number, sql: string) => sources.get(v)!.query(sql, [], "app")
  const destRows = (sql: string, params: Array<unknown> = []) => dest.query(sql, params, "dest")
  const columnsOf = async (table: string) =>
    (
      await destRows(
        `select string_agg(column_name || ' ' || data_type, ', ' order by ordinal_position) as c
         from information_schema.columns where table_schema = 'public' and table_name = $1`,
        [table]
      )
    )[0]?.c as string
  const settle = (what: string, check: () => Promise<boolean>) =>
    waitFor(what, check, 60_000).catch((e: unknown) => {
      throw new Error(`${String(e)}\n${proc.output()}`)
    })
  const tableState = async (target: string) => (await proc.status()).tables.find((t) => t.target === target)

  it("each DDL kind between rows, in one source transaction", async () => {
    for (const v of versions) {
      await onSource(
        v,
        `begin;
         insert into c1 values (1, 'a', 10);
         alter table c1 add column n2 int;
         insert into c1 (id, name, v, n2) values (2, 'b', 20, 200);
         alter table c1 rename column name to label;
         insert into c1 (id, label, v, n2) values (3, 'c', 30, 300);
         update c1 set label = 'a2' where id = 1;
         alter table c1 alter column v type bigint;
         insert into c1 values (4, 'd', 5000000000, 400);
         alter table c1 drop column n2;
         insert into c1 values (5, 'e', 50);
         commit;
         insert into c1 values (6, 'f', 60)`
      )
    }
    for (const v of versions) {
      await settle(`c1_${v} complete`, async () => (await destRows(`select count(*)::int n from c1_${v}`))[0].n === 6)
      expect(await columnsOf(`c1_${v}`)).toBe("id integer, label text, v bigint")
      expect(await destRows(`select id, label, v::text from c1_${v} order by id`)).toEqual([
        { id: 1, label: "a2", v: "10" },
        { id: 2, label: "b", v: "20" },
        { id: 3, label: "c", v: "30" },
        { id: 4, label: "d", v: "5000000000" },
        { id: 5, label: "e", v: "50" },
        { id: 6, label: "f", v: "60" }
      ])
    }
  })

  it("each DDL kind between rows, in separate source transactions", async () => {
    for (const v of versions) {
      for (const sql of [
        "insert into c2 values (1, 'a', 10)",
        "alter table c2 add column flag boolean",
        "insert into c2 values (2, 'b', 20, true)",
        "alter table c2 rename column name to title",
        "update c2 set title = 'a2', flag = false where id = 1",
        "alter table c2 alter column v type numeric(20, 2)",
        "insert into c2 values (3, 'c', 30.5, null)",
        "alter table c2 drop column flag",
        "insert into c2 values (4, 'd', 40.25)",
        "update c2 set title = 'b2' where id = 2"
      ])
        await onSource(v, sql)
    }
    for (const v of versions) {
      await settle(
        `c2_${v} complete`,
        async () => (await destRows(`select count(*)::int n from c2_${v} where id = 2 and title = 'b2'`))[0]?.n === 1
      )
      expect(await columnsOf(`c2_${v}`)).toBe("id integer, title text, v numeric")
      expect(await destRows(`select id, title, v::text from c2_${v} order by id`)).toEqual([
        { id: 1, title: "a2", v: "10.00" },
        { id: 2, title: "b2", v: "20.00" },
        { id: 3, title: "c", v: "30.50" },
        { id: 4, title: "d", v: "40.25" }
      ])
    }
  })

  it("a history table keeps its versions across a column rename", async () => {
    for (const v of versions) {
      await onSource(v, "update h1 set note = 'second', v = 2 where id = 1")
      await onSource(
        v,
        "begin; alter table h1 rename column note to remark; update h1 set remark = 'third', v = 3 where id = 1; commit"
      )
      await onSource(v, "insert into h1 values (2, 'other', 9)")
    }
    for (const v of versions) {
      await settle(`h1_${v} versions`, async () => (await destRows(`select count(*)::int n from h1_${v}`))[0].n === 4)
      expect(await columnsOf(`h1_${v}`)).toContain("remark text")
      expect(await columnsOf(`h1_${v}`)).not.toContain("note")
      expect(
        await destRows(`select id, remark, v, kvsz_end = '9999-01-01' as open from h1_${v} order by id, kvsz_start`)
      ).toEqual([
        { id: 1, remark: "first", v: 1, open: false },
        { id: 1, remark: "second", v: 2, open: false },
        { id: 1, remark: "third", v: 3, open: true },
        { id: 2, remark: "other", v: 9, open: true }
      ])
    }
  })

  it("a renamed target with a column subset follows its mapped columns only", async () => {
    for (const v of versions) {
      await onSource(v, "insert into sub values (1, 'k1', 'x1')")
      await onSource(v, "alter table sub drop column extra")
      await onSource(v, "alter table sub rename column keep to kept")
      await onSource(v, "alter table sub add column more int")
      await onSource(v, "insert into sub values (2, 'k2', 7)")
    }
    for (const v of versions) {
      await settle(`sub_t_${v} rows`, async () => (await destRows(`select count(*)::int n from sub_t_${v}`))[0].n === 2)
      // auto_create is off for it: the added column is not created, the renamed one is renamed
      expect(await columnsOf(`sub_t_${v}`)).toBe("id integer, kept text")
      expect(await destRows(`select id, kept from sub_t_${v} order by id`)).toEqual([
        { id: 1, kept: "k1" },
        { id: 2, kept: "k2" }
      ])
    }
  })

  it("DDL the destination cannot follow stops only its table, naming it and the statement", async () => {
    for (const v of versions) {
      await onSource(v, "alter table bad alter column tag type int using length(tag)")
      await onSource(v, "insert into bad values (2, 5)")
      await onSource(v, "alter table gone rename to gone_renamed")
      await onSource(v, "insert into c1 values (7, 'g', 70)")
    }
    for (const v of versions) {
      await settle(`bad_${v} stopped`, async () => (await tableState(`bad_${v}`))?.state === "stopped")
      await settle(`gone_${v} stopped`, async () => (await tableState(`gone_${v}`))?.state === "stopped")
      const bad = (await tableState(`bad_${v}`))!.error!
      expect(bad).toContain(`public.bad_${v}`)
      expect(bad).toContain("alter table bad alter column tag type int using length(tag)")
      const gone = (await tableState(`gone_${v}`))!.error!
      expect(gone).toContain("renamed to public.gone_renamed")
      expect(gone).toContain("alter table gone rename to gone_renamed")
      await settle(
        `c1_${v} still flowing`,
        async () => (await destRows(`select 1 from c1_${v} where id = 7`)).length === 1
      )
      expect((await tableState(`c1_${v}`))?.state).toBe("streaming")
      expect(await destRows(`select id, tag from bad_${v}`)).toEqual([{ id: 1, tag: "abc" }])
    }
  })

  it("a replay after SIGKILL does not apply a DDL twice", async () => {
    for (const v of versions) {
      // blk stops on its check constraint: nothing after this is confirmed to the source, all of it is replayed
      await onSource(v, "insert into blk values (1, 500)")
      await onSource(v, "insert into c3 values (1, 1)")
      await onSource(v, "alter table c3 drop column zz")
      await onSource(v, "alter table c3 add column zz int")
      await onSource(v, "insert into c3 values (2, 5); update c3 set zz = 4 where id = 1")
    }
    for (const v of versions) {
      await settle(`blk_${v} stopped`, async () => (await tableState(`blk_${v}`))?.state === "stopped")
      await settle(`c3_${v} applied`, async () => (await destRows(`select count(zz)::int n from c3_${v}`))[0].n === 2)
    }
    proc.kill("SIGKILL")
    await proc.waitExit()
    for (const v of versions) {
      await destRows(`alter table blk_${v} drop constraint blk_${v}_v_check`)
      // a mapped table must exist on the source at start
      await onSource(v, "alter table gone_renamed rename to gone")
    }
    await start()
    for (const v of versions) {
      await settle(`blk_${v} replayed`, async () => (await destRows(`select v from blk_${v}`))[0]?.v === 500)
      await onSource(v, "insert into c3 values (3, 6)")
      await settle(`c3_${v} streaming`, async () => (await destRows(`select 1 from c3_${v} where id = 3`)).length === 1)
      // a second DROP COLUMN zz followed by ADD COLUMN zz would have emptied zz, the rows being skipped
      expect(await destRows(`select id, zz from c3_${v} order by id`)).toEqual([
        { id: 1, zz: 4 },
        { id: 2, zz: 5 },
        { id: 3, zz: 6 }
      ])
    }
  })
})
