/**
 * Switching from kuvasz-streamer with its history tables (reference §3.4, §10: t4 with sid on every source
 * version under test, d4 without sid on one source, renamed to hd4), run by the real walferry process:
 * - the destination tables are kuvasz's DDL (no kvsz_lsn) and already hold kuvasz's versions: open and
 *   closed ones, deleted keys, and another sid's slice no source feeds;
 * - the first start keeps every old version and gains exactly the changes made while nothing streamed
 *   (equal keys untouched, changed rows re-versioned, missing keys closed deleted, new keys opened);
 * - streamed changes version correctly; under kill -9 and restarts every update becomes exactly one version;
 * - a resync of the walferry-filled table repairs only what differs; the sentinel option starts a streamed
 *   insert's version at 1900-01-01.
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { type TestPg } from "../../support/Pg.js"
import { startSourcesAndDestination, stopServers } from "../../support/servers.js"
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
  create table t4 (id serial primary key, name text, salary int, garbage date);
  insert into t4 (id, name, salary) values (1, 'a1', 10), (2, 'b2', 20), (5, 'e2', 50), (6, 'f1', 60), (8, 'h1', null);
  select setval('t4_id_seq', 100)`
const APPEND_DDL = `
  create table t3 (id serial primary key, name text, salary int, garbage date);
  insert into t3 (id, name, salary) values (1, 'a1', 10), (2, 'b2', 20)`

/** kuvasz's test DDL (reference §10): no kvsz_lsn; `garbage` is not on the destination */
const DEST_DDL = `
  create table t4 (kvsz_id bigserial, sid text, id int, name text, salary int,
    kvsz_start timestamptz not null default '1900-01-01 00:00:00', kvsz_end timestamptz not null default '9999-01-01 00:00:00',
    kvsz_deleted boolean not null default false, primary key (sid, id, kvsz_id));
  create table hd4 (kvsz_id bigserial, id int, name text, salary int,
    kvsz_start timestamptz not null default '1900-01-01 00:00:00', kvsz_end timestamptz not null default '9999-01-01 00:00:00',
    kvsz_deleted boolean not null default false, primary key (id, kvsz_id));
  create table t3 (sid text, id int, name text, salary int, primary key (sid, id))`

/** what kuvasz left in a slice: (id, name, salary, start, end, deleted); `null` = the table's default */
const KUVASZ_VERSIONS: ReadonlyArray<readonly [number, string, number | null, string | null, string | null, boolean]> =
  [
    [1, "a1", 10, null, null, false], // equal to the source: untouched
    [2, "b0", 18, null, "2024-01-01", false],
    [2, "b1", 19, "2024-01-01", null, false], // changed on the source (b2, 20): re-versioned
    [3, "c1", 30, null, null, false], // gone from the source: closed deleted
    [4, "d1", 40, null, "2024-02-01", true], // deleted long ago: untouched
    [5, "e1", 49, null, "2024-03-01", true], // back on the source (e2): opened again
    [8, "h1", null, null, null, false] // equal, with a NULL: untouched
    // 6 (f1) is new: opened as a first load
  ]

const prefill = (table: string, sid: string | null) => {
  const values = KUVASZ_VERSIONS.map(
    ([id, name, salary, start, end, deleted]) =>
      `(${sid === null ? "" : `'${sid}', `}${id}, '${name}', ${salary ?? "null"}, ` +
      `${start === null ? "default" : `'${start}'`}, ${end === null ? "default" : `'${end}'`}, ${deleted})`
  )
  return `insert into ${table} (${sid === null ? "" : "sid, "}id, name, salary, kvsz_start, kvsz_end, kvsz_deleted) values ${values.join(", ")}`
}

interface Version {
  kvsz_id: string
  id: number
  name: string
  salary: number | null
  start: string
  end: string
  deleted: boolean
}

const OPEN = "open"
const FIRST = "1900-01-01 00:00:00.000000"
const TS = `'YYYY-MM-DD HH24:MI:SS.US'`

describe("kuvasz history tables: switch, reconcile, stream, crash, resync", () => {
  const sources: Array<TestPg> = []
  let single: TestPg
  let dest: TestPg
  let proc: WalferryProcess
  const sids = () => sources.map((s) => String(s.version))
  const destRows = <R extends Record<string, unknown>>(sql: string, params: Array<unknown> = []) =>
    dest.query<R>(sql, params, "dest")
  const versions = (table: string, where = "true", params: Array<unknown> = []) =>
    destRows<Version & Record<string, unknown>>(
      `select kvsz_id::text, id, name, salary, to_char(kvsz_start at time zone 'UTC', ${TS}) as start,
         case when kvsz_end >= '9998-12-31' then 'open' else to_char(kvsz_end at time zone 'UTC', ${TS}) end as "end",
         kvsz_deleted as deleted
       from ${table} where ${where} order by id, kvsz_start, kvsz_id`,
      params
    )
  const untilTrue = async (what: string, check: () => Promise<boolean>, ms = 60_000) => {
    const until = Date.now() + ms
    while (Date.now() < until) {
      if (await check()) return
      if (proc?.exited()) throw new Error(`walferry exited while waiting for ${what}:\n${proc.output()}`)
      await sleep(200)
    }
    throw new Error(`timed out waiting for ${what}:\n${proc?.output()}`)
  }
  const start = () =>
    startWalferry({
      destination: dest.url("dest"),
      map: [
        {
          database: "db1",
          urls: sources.map((s) => ({ url: s.url("db1"), sid: String(s.version) })),
          tables: { t4: { type: "history" }, t3: { type: "append" } }
        },
        {
          database: "db1single",
          urls: [{ url: single.url("db1"), sid: "" }],
          tables: { d4: { type: "history", target: "hd4", history: { first_version_start: "sentinel" } } }
        }
      ],
      tuning: { batch_size: 50, commit_interval_ms: 20, status_interval_ms: 200, shutdown_timeout_ms: 10_000 }
    })

  beforeAll(async () => {
    const started = await startSourcesAndDestination({
      database: "db1",
      sourceSql: SOURCE_DDL + ";" + APPEND_DDL,
      destSql: DEST_DDL
    })
    dest = started.dest
    sources.push(...started.sources)
    single = sources[sources.length - 1]!
    await single.query(SOURCE_DDL.replace(/t4/g, "d4"), [], "db1")
    for (const sid of sids()) {
      await destRows(prefill("t4", sid))
      await destRows(`insert into t3 values ('${sid}', 1, 'old', 1), ('${sid}', 7, 'gone', 7)`)
    }
    await destRows(prefill("t4", "other"))
    await destRows(prefill("hd4", null))
  })

  afterAll(async () => {
    await stopAllWalferry()
    await stopServers(sources, dest)
  })

  /** the slice after the first start: every kuvasz version kept, exactly the changes added at one time */
  const expectReconciled = (got: ReadonlyArray<Version>, before: ReadonlyArray<Version>) => {
    const byId = new Map(before.map((v) => [v.kvsz_id, v]))
    const at = got.find((v) => v.id === 3)!.end
    expect(at > "2025-01-01").toBe(true)
    for (const v of got) {
      const old = byId.get(v.kvsz_id)
      if (old === undefined) continue
      // only the open versions of changed or vanished keys were touched: closed at the snapshot time
      if (v.id === 2 && v.name === "b1") expect(v).toEqual({ ...old, end: at })
      else if (v.id === 3) expect(v).toEqual({ ...old, end: at, deleted: true })
      else expect(v).toEqual(old)
    }
    expect(got.filter((v) => !byId.has(v.kvsz_id)).map(({ kvsz_id: _, ...v }) => v)).toEqual([
      { id: 2, name: "b2", salary: 20, start: at, end: OPEN, deleted: false },
      { id: 5, name: "e2", salary: 50, start: at, end: OPEN, deleted: false },
      { id: 6, name: "f1", salary: 60, start: FIRST, end: OPEN, deleted: false }
    ])
    expect(got.length).toBe(before.length + 3)
  }

  it("first start: adds kvsz_lsn, keeps every kuvasz version and gains exactly the changes", async () => {
    const before = new Map<string, Array<Version>>()
    for (const sid of [...sids(), "other"]) before.set(sid, await versions("t4", "sid = $1", [sid]))
    const beforeSingle = await versions("hd4")
    proc = await start()
    await waitStreaming(proc)
    await untilTrue("initial syncs", async () => {
      const s = await proc.status()
      return s.tables.length === 3 && s.tables.every((t) => t.state === "streaming")
    })
    const columns = await destRows<{ table_name: string; data_type: string }>(
      "select table_name, data_type from information_schema.columns where column_name = 'kvsz_lsn' order by 1"
    )
    expect(columns).toEqual([
      { table_name: "hd4", data_type: "numeric" },
      { table_name: "t4", data_type: "numeric" }
    ])
    expect(proc.output()).toMatch(/added position column .+kvsz_lsn.+ to history table .+t4/)
    for (const sid of sids()) expectReconciled(await versions("t4", "sid = $1", [sid]), before.get(sid)!)
    expectReconciled(await versions("hd4"), beforeSingle)
    expect(await versions("t4", "sid = 'other'")).toEqual(before.get("other"))
    // kuvasz's append table: a copied key takes the source's row, rows only kuvasz appended stay
    for (const sid of sids()) {
      expect(await destRows("select id, name, salary from t3 where sid = $1 order by id", [sid])).toEqual([
        { id: 1, name: "a1", salary: 10 },
        { id: 2, name: "b2", salary: 20 },
        { id: 7, name: "gone", salary: 7 }
      ])
    }
  })

  it("streams versions at commit time; the sentinel option starts inserts at 1900-01-01", async () => {
    const marker = async (table: string, where = "true") =>
      (await destRows<{ n: number }>(`select count(*)::int n from ${table} where name = 'marker' and ${where}`))[0]!.n
    for (const s of sources) {
      await s.query(
        "update t4 set name = 'a2', salary = 11 where id = 1; delete from t4 where id = 6; insert into t4 (name, salary) values ('marker', 1)",
        [],
        "db1"
      )
    }
    await single.query(
      "update d4 set name = 'a2', salary = 11 where id = 1; insert into d4 (name, salary) values ('marker', 1)",
      [],
      "db1"
    )
    for (const sid of sids()) await untilTrue(`t4 ${sid}`, async () => (await marker("t4", `sid = '${sid}'`)) === 1)
    await untilTrue("hd4", async () => (await marker("hd4")) === 1)
    for (const sid of sids()) {
      const got = await versions("t4", "sid = $1 and id in (1, 6, 101)", [sid])
      const [a1, a2, f1, m] = got
      expect(got.map((v) => [v.id, v.name, v.deleted, v.end === OPEN])).toEqual([
        [1, "a1", false, false],
        [1, "a2", false, true],
        [6, "f1", true, false],
        [101, "marker", false, true]
      ])
      expect(a2!.start).toBe(a1!.end)
      expect(f1!.end > "2025-01-01").toBe(true)
      expect(m!.start > "2025-01-01").toBe(true)
    }
    const [inserted] = await versions("hd4", "name = 'marker'")
    expect(inserted!.start).toBe(FIRST)
    const chain = await versions("hd4", "id = 1")
    expect(chain.map((v) => v.name)).toEqual(["a1", "a2"])
    expect(chain[1]!.start).toBe(chain[0]!.end)
    expect(chain[1]!.start > "2025-01-01").toBe(true)
  })

  it("replays exactly once after kill -9: every update is one version, chained, one open per key", async () => {
    const seed = testSeed()
    const r = seededRandom(seed)
    const keys = [1, 2, 5, 8, 101]
    await Promise.all(sources.map((s) => s.query("update t4 set salary = 0 where id = 8", [], "db1")))
    await single.query("update d4 set salary = 0 where id = 8", [], "db1")
    const targets = [
      ...sources.map((s) => ({ src: s, table: "t4", dest: "t4", sid: String(s.version) as string | null })),
      { src: single, table: "d4", dest: "hd4", sid: null }
    ]
    const bases = new Map<string, number>()
    for (const t of targets) {
      for (const k of keys) {
        const [row] = await t.src.query<{ salary: number }>(`select salary from ${t.table} where id = $1`, [k], "db1")
        bases.set(`${t.dest}/${t.sid}/${k}`, row!.salary)
      }
    }
    const counts = new Map<string, number>()
    let stopped = false
    const loops = targets.map(async (t, i) => {
      const rand = seededRandom(seed * 7 + i)
      while (!stopped) {
        const k = keys[Math.floor(rand() * keys.length)]!
        const res = await t.src.query<{ id: number }>(
          `update ${t.table} set salary = salary + 1 where id = $1 returning id`,
          [k],
          "db1"
        )
        if (res.length === 1) counts.set(`${t.dest}/${t.sid}/${k}`, (counts.get(`${t.dest}/${t.sid}/${k}`) ?? 0) + 1)
        await sleep(rand() * 5)
      }
    })
    const kills: Array<string> = []
    try {
      for (let k = 0; k < 3; k++) {
        await waitStreaming(proc)
        const after = 300 + Math.floor(r() * 1500)
        await sleep(after)
        kills.push(`${after} ms after streaming`)
        proc.kill("SIGKILL")
        expect((await proc.waitExit(10_000)).signal).toBe("SIGKILL")
        await proc.stop()
        proc = await start()
      }
      await sleep(1000)
    } finally {
      stopped = true
      await Promise.all(loops)
    }
    const context = `seed ${seed}; kills: ${kills.join("; ")}; updates ${JSON.stringify([...counts])}`
    console.log(`kuvasz history crash test: ${context}`)
    expect([...counts.values()].reduce((a, b) => a + b, 0)).toBeGreaterThan(100)
    const salaries = async (t: (typeof targets)[number], k: number) =>
      destRows<{ salary: number; start: string; end: string }>(
        `select salary, to_char(kvsz_start at time zone 'UTC', ${TS}) as start,
           case when kvsz_end >= '9998-12-31' then 'open' else to_char(kvsz_end at time zone 'UTC', ${TS}) end as "end"
         from ${t.dest} where id = $1 and salary >= $2 ${t.sid === null ? "" : `and sid = '${t.sid}'`}
         order by salary, kvsz_start`,
        [k, bases.get(`${t.dest}/${t.sid}/${k}`)]
      )
    for (const t of targets) {
      for (const k of keys) {
        const base = bases.get(`${t.dest}/${t.sid}/${k}`)!
        const n = counts.get(`${t.dest}/${t.sid}/${k}`) ?? 0
        const want = Array.from({ length: n + 1 }, (_, i) => base + i)
        await untilTrue(`${t.dest}/${t.sid}/${k}`, async () => (await salaries(t, k)).length >= want.length, 60_000)
        const got = await salaries(t, k)
        expect(
          got.map((v) => v.salary),
          `${t.dest} sid ${t.sid} id ${k}; ${context}`
        ).toEqual(want)
        for (let i = 1; i < got.length; i++) expect(got[i]!.start).toBe(got[i - 1]!.end)
        expect(got[got.length - 1]!.end).toBe(OPEN)
      }
    }
    const open = await destRows<{ n: number }>(
      "select count(*)::int n from (select sid, id from t4 where kvsz_end >= '9998-12-31' group by sid, id having count(*) > 1) x"
    )
    expect(open[0]!.n).toBe(0)
    const status = await proc.status()
    expect(status.tables.filter((t) => t.state !== "streaming")).toEqual([])
  })

  it("a resync of the walferry-filled table repairs only what differs", async () => {
    const sid = sids()[0]!
    await destRows(
      `update t4 set name = 'tampered' where sid = $1 and id = 2 and kvsz_end >= '9998-12-31';
       delete from t4 where sid = $1 and id = 5 and kvsz_end >= '9998-12-31';
       insert into t4 (sid, id, name, salary) values ($1, 999, 'ghost', 1)`.replace(/\$1/g, `'${sid}'`)
    )
    const before = new Map<string, Array<Version>>()
    for (const s of [...sids(), "other"]) before.set(s, await versions("t4", "sid = $1", [s]))
    expect(await proc.post("/tables/t4/resync")).toBe(200)
    await untilTrue("resync", async () => {
      const [ghost] = await versions("t4", "sid = $1 and id = 999", [sid])
      const s = await proc.status()
      return ghost?.deleted === true && s.tables.every((t) => t.state === "streaming")
    })
    const after = await versions("t4", "sid = $1", [sid])
    const old = new Map(before.get(sid)!.map((v) => [v.kvsz_id, v]))
    const [live2] = await sources[0]!.query<{ name: string; salary: number }>(
      "select name, salary from t4 where id = 2",
      [],
      "db1"
    )
    const [live5] = await sources[0]!.query<{ name: string; salary: number }>(
      "select name, salary from t4 where id = 5",
      [],
      "db1"
    )
    const at = after.find((v) => v.id === 999)!.end
    for (const v of after) {
      const was = old.get(v.kvsz_id)
      if (was === undefined) continue
      if (v.name === "tampered") expect(v).toEqual({ ...was, end: at })
      else if (v.id === 999) expect(v).toEqual({ ...was, end: at, deleted: true })
      else expect(v).toEqual(was)
    }
    expect(after.filter((v) => !old.has(v.kvsz_id)).map(({ kvsz_id: _, ...v }) => v)).toEqual([
      { id: 2, name: live2!.name, salary: live2!.salary, start: at, end: OPEN, deleted: false },
      { id: 5, name: live5!.name, salary: live5!.salary, start: at, end: OPEN, deleted: false }
    ])
    for (const s of [...sids().slice(1), "other"]) expect(await versions("t4", "sid = $1", [s])).toEqual(before.get(s))
    expect(proc.output()).toContain("history of t4 reconciled")
    await proc.stop()
  })
})
