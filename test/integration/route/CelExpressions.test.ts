/**
 * kuvasz-streamer's CEL `filter` and `set` (reference §9.5, scenarios 25 and 26) on a real source and
 * destination: the initial copy and the stream both filtered and projected, updates and deletes addressing
 * the translated key, a row whose evaluation fails counted and skipped while the table keeps streaming, and
 * an expression that does not type-check against the source columns rejected naming table and expression.
 */
import { Effect } from "effect"
import pg from "pg"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import type { Expressions } from "../../../src/route/RowExpressions.js"
import { checkExpressions } from "../../../src/route/ExpressionCheck.js"
import { expressionFailuresTotal } from "../../../src/telemetry/Metrics.js"
import { startTestPgs, type TestPg } from "../../support/Pg.js"
import { latestVersion } from "../../support/versions.js"
import { pipelineConfig, startEngine, waitFor, type RunningEngine } from "../../support/engine.js"

const SOURCE_DDL = `
  create table emp (id int primary key, name text not null, salary int, type text);
  insert into emp select i, 'e' || i, i * 10, case when i % 2 = 0 then 'a' else 'b' end from generate_series(1, 20) i;
  create table people (id int primary key, first text, last text, type text);
  insert into people values (1, 'Ada', 'Lovelace', 'x'), (2, 'Alan', 'Turing', 'y'), (3, 'Grace', 'Hopper', 'z');
  create table ratio (id int primary key, num int, den int);
  insert into ratio values (1, 10, 2), (2, 1, 0);`

const DEST_DDL = `
  create table rich (id int primary key, name text, salary int, type text);
  create table people_x (pid int primary key, full_name text, kind text, untouched text default 'kept');
  create table ratio_q (id int primary key, q bigint);`

const EXPRESSIONS: Record<string, Expressions> = {
  emp: { filter: "salary != null && salary > 100", set: undefined },
  people: {
    filter: undefined,
    set: [
      ["pid", "id * 100"],
      ["full_name", "first + ' ' + last"],
      ["kind", "_type"]
    ]
  },
  ratio: {
    filter: undefined,
    set: [
      ["id", "id"],
      ["q", "num / den"]
    ]
  }
}

const failures = () =>
  expressionFailuresTotal
    .get()
    .then((m) => m.values.filter((v) => v.labels.table === "public.ratio").reduce((a, v) => a + v.value, 0))

describe("CEL filter and set", () => {
  let source: TestPg
  let dest: TestPg
  let engine: RunningEngine
  const rows = (sql: string) => dest.query(sql, [], "dest")

  beforeAll(async () => {
    ;[source, dest] = await startTestPgs(2, { version: latestVersion() })
    await source.createDatabase("db1")
    await source.query(SOURCE_DDL, [], "db1")
    await dest.createDatabase("dest")
    await dest.query(DEST_DDL, [], "dest")
    const config = pipelineConfig({
      destination: dest.url("dest"),
      sources: [
        {
          database: "db1",
          urls: [{ url: source.url("db1"), sid: "" }],
          tables: [
            { table: "emp", target: "rich" },
            { table: "people", target: "people_x" },
            { table: "ratio", target: "ratio_q" }
          ]
        }
      ]
    })
    engine = startEngine({
      ...config,
      sources: config.sources.map((g) => ({
        ...g,
        tables: g.tables.map((t) => ({ ...t, expressions: EXPRESSIONS[t.name]! }))
      }))
    })
  }, 120_000)

  afterAll(async () => {
    await engine?.stop()
    await Promise.all([source?.stop(), dest?.stop()])
  })

  it("copies only the rows the filter accepts, and the set's computed columns", async () => {
    await waitFor(
      "initial copy",
      async () => (await rows("select count(*)::int as n from people_x"))[0]!.n === 3,
      60_000
    )
    await waitFor("emp copy", async () => (await rows("select count(*)::int as n from rich"))[0]!.n === 10, 60_000)
    expect((await rows("select id from rich order by id")).map((r: { id: number }) => r.id)).toEqual([
      11, 12, 13, 14, 15, 16, 17, 18, 19, 20
    ])
    expect(await rows("select pid, full_name, kind, untouched from people_x order by pid")).toEqual([
      { pid: 100, full_name: "Ada Lovelace", kind: "x", untouched: "kept" },
      { pid: 200, full_name: "Alan Turing", kind: "y", untouched: "kept" },
      { pid: 300, full_name: "Grace Hopper", kind: "z", untouched: "kept" }
    ])
    // ratio 2 divides by zero: not copied, counted
    expect(await rows("select id, q::int from ratio_q order by id")).toEqual([{ id: 1, q: 5 }])
    expect(await failures()).toBeGreaterThanOrEqual(1)
  }, 90_000)

  it("filters streamed inserts and updates on the new row; deletes by key", async () => {
    await source.query(
      `insert into emp values (21, 'low', 5, 'a'), (22, 'high', 500, 'b'), (23, 'none', null, 'a');
       update emp set salary = 1000 where id = 12;
       update emp set salary = 50 where id = 13;
       delete from emp where id = 14;
       delete from emp where id = 3;`,
      [],
      "db1"
    )
    await waitFor("emp stream", async () => (await rows("select 1 from rich where id = 22")).length === 1)
    await waitFor("emp delete", async () => (await rows("select 1 from rich where id = 14")).length === 0)
    expect(await rows("select id, salary from rich where id in (12, 13, 21, 22, 23) order by id")).toEqual([
      { id: 12, salary: 1000 },
      { id: 13, salary: 130 }, // the update to 50 is filtered out: the destination keeps the last accepted version
      { id: 22, salary: 500 }
    ])
  }, 60_000)

  it("updates and deletes hit the translated key", async () => {
    await source.query(
      `update people set last = 'Byron' where id = 1;
       update people set id = 30 where id = 3;
       delete from people where id = 2;
       insert into people values (4, 'Edsger', 'Dijkstra', 'w');`,
      [],
      "db1"
    )
    await waitFor("people stream", async () => (await rows("select 1 from people_x where pid = 400")).length === 1)
    expect(await rows("select pid, full_name, kind, untouched from people_x order by pid")).toEqual([
      { pid: 100, full_name: "Ada Byron", kind: "x", untouched: "kept" },
      { pid: 400, full_name: "Edsger Dijkstra", kind: "w", untouched: "kept" },
      { pid: 3000, full_name: "Grace Hopper", kind: "z", untouched: "kept" }
    ])
  }, 60_000)

  it("a row whose evaluation fails is counted and skipped; the table keeps streaming", async () => {
    const before = await failures()
    await source.query("insert into ratio values (3, 9, 3), (4, 1, 0), (5, 8, 2)", [], "db1")
    await waitFor("ratio stream", async () => (await rows("select 1 from ratio_q where id = 5")).length === 1)
    expect(await rows("select id, q::int from ratio_q order by id")).toEqual([
      { id: 1, q: 5 },
      { id: 3, q: 3 },
      { id: 5, q: 4 }
    ])
    expect(await failures()).toBe(before + 1)
    expect(engine.failed()).toBe(false)
  }, 60_000)

  it("an expression that does not type-check against the source columns names table and expression", async () => {
    const client = new pg.Client({ connectionString: source.url("db1") })
    await client.connect()
    try {
      const group = (filter: string) => ({
        database: "db1",
        urls: [],
        tables: [
          {
            schema: "public",
            name: "emp",
            mode: "clone" as const,
            target: "rich",
            partitionsRegex: undefined,
            autoCreate: false,
            history: { start: "s", end: "e", deleted: "d", lsn: "l" },
            expressions: { filter, set: undefined }
          }
        ]
      })
      const typo = await Effect.runPromise(Effect.flip(checkExpressions(client, group("slary > 100"))))
      expect(typo.message).toMatch(/^table public\.emp: filter expression "slary > 100" is invalid: .*slary/)
      const typed = await Effect.runPromise(Effect.flip(checkExpressions(client, group("name > 100"))))
      expect(typed.message).toMatch(/filter expression "name > 100" is invalid: no such overload/)
      const ok = await Effect.runPromise(checkExpressions(client, group("id > 3 && name != ''")))
      expect([...ok.get("public.emp")!].sort()).toEqual(["id", "name"])
    } finally {
      await client.end()
    }
  }, 30_000)
})
