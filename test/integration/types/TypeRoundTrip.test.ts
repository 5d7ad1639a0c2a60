/**
 * Data type round trip (kuvasz-streamer §9.2 and more): every type, edge values and NULLs, through the
 * initial copy and the stream, from every source version into one destination, into a table created by
 * hand and one created by `ensureTargetTable`. Expected rows are the source's text output loaded into the
 * destination as parameters (independent of the pipeline); each column is compared on the destination
 * server with IS DISTINCT FROM on its canonical text output (stricter than `=`: -0, numeric scale, box area).
 */
import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import pg from "pg"
import { describeSourceTable } from "../../../src/source/SourceCatalog.js"
import { ensureTargetTable } from "../../../src/target/TargetCreator.js"
import { pipelineConfig, startEngine, tableMapping, waitFor, type RunningEngine } from "../../support/engine.js"
import { type TestPg } from "../../support/Pg.js"
import { testVersions } from "../../support/versions.js"
import { startSourcesAndDestination, stopServers } from "../../support/servers.js"
import {
  copyRowSql,
  edges,
  handDestDdl,
  insertSql,
  NAMES,
  others,
  sourceTableDdl,
  TYPES_DDL,
  TYPICAL
} from "./TypeColumns.js"

const BIG_ID = 1000
const BIG_BYTES = 100 * 1024 * 1024
/** source table → destination table: by hand, by ensureTargetTable, and keyless with REPLICA IDENTITY FULL */
const PAIRS = [
  ["types_a", "types_hand"],
  ["types_b", "types_auto"],
  ["types_c", "types_rif"]
] as const

const MISMATCHES = (dst: string) => `
  select coalesce(e.id, d.id) as id, x.col, left(x.want, 200) as want, left(x.got, 200) as got
  from (select * from ${dst} where sid = $1 and id <> ${BIG_ID}) d
  full join expected e on e.id = d.id
  cross join lateral (values
    ('(row)', case when e.id is null then 'absent' else 'present' end,
      case when d.id is null then 'absent' else 'present' end),
    ${NAMES.map((n) => `('${n}', e.${n}::text, d.${n}::text)`).join(",\n    ")}
  ) as x(col, want, got)
  where x.want is distinct from x.got and (x.col = '(row)' or (d.id is not null and e.id is not null))
  order by 1, 2`

describe("data type round trip", () => {
  const versions = testVersions()
  const sources: Array<TestPg> = []
  let dest: TestPg
  let check: pg.Client
  let engine: RunningEngine

  beforeAll(async () => {
    const tables = `${sourceTableDdl("types_a")}; ${sourceTableDdl("types_b")}; ${sourceTableDdl("types_c", false)}`
    const started = await startSourcesAndDestination({
      database: "db1",
      versions,
      sourceSql: (s) =>
        [
          `${TYPES_DDL}; ${tables}`,
          ...PAIRS.flatMap(([table]) =>
            [TYPICAL, edges(s.version), others(s.version), {}].map((r, i) => insertSql(table, i + 1, r))
          )
        ].join(";\n"),
      destSql: `${TYPES_DDL}; ${handDestDdl("types_hand")}; ${handDestDdl("types_rif", false)}`
    })
    dest = started.dest
    sources.push(...started.sources)
    check = new pg.Client({ connectionString: dest.url("dest") })
    await check.connect()
    const src = new pg.Client({ connectionString: sources[0]!.url("db1") })
    await src.connect()
    try {
      const table = await Effect.runPromise(describeSourceTable(src, "public", "types_b"))
      const mapping = { ...tableMapping({ table: "types_b", target: "types_auto" }), autoCreate: true }
      const made = await Effect.runPromise(ensureTargetTable(check, "public", mapping, table!, true))
      expect(made.created).toBe(true)
    } finally {
      await src.end()
    }
    engine = startEngine(
      pipelineConfig({
        destination: dest.url("dest"),
        sources: [
          {
            database: "db1",
            urls: sources.map((s) => ({ url: s.url("db1"), sid: String(s.version) })),
            tables: PAIRS.map(([table, target]) => ({ table, target }))
          }
        ]
      })
    )
  })

  afterAll(async () => {
    await engine?.stop()
    await check?.end()
    await stopServers(sources, dest)
  })

  /** columns differing between source `table` of `s` and destination `target` (all rows but the big one) */
  const mismatches = async (s: TestPg, table: string, target: string) => {
    const cols = NAMES.map((n) => `${n}::text`).join(", ")
    const rows = await s.query(`select id, ${cols} from ${table} where id <> ${BIG_ID} order by id`, [], "db1")
    await check.query(
      `drop table if exists pg_temp.expected; create temp table expected as select * from ${target} with no data`
    )
    const params = NAMES.map((_, i) => `$${i + 3}`).join(", ")
    for (const r of rows) {
      await check.query(`insert into expected (sid, id, ${NAMES.join(", ")}) values ($1, $2, ${params})`, [
        String(s.version),
        r.id,
        ...NAMES.map((n) => r[n])
      ])
    }
    return (await check.query(MISMATCHES(target), [String(s.version)])).rows
  }

  const sameOnDestination = async (s: TestPg, what: string) => {
    for (const [table, target] of PAIRS) {
      await waitFor(
        `${what} of ${table} on PG${s.version}`,
        async () => (await mismatches(s, table, target)).length === 0,
        60_000
      ).catch(() => undefined)
      expect({ target, mismatches: await mismatches(s, table, target) }).toEqual({ target, mismatches: [] })
    }
    expect(engine.failed()).toBe(false)
  }

  const sourceOf = (v: number) => sources.find((s) => s.version === v)!

  it.each(versions)("initial copy: every type arrives unchanged from PG%i", async (v) => {
    await sameOnDestination(sourceOf(v), "initial copy")
  })

  it.each(versions)(
    "streaming: inserts, updates (incl. unchanged TOAST), key update, delete of every type from PG%i",
    async (v) => {
      const s = sourceOf(v)
      for (const [table] of PAIRS) {
        await s.query(
          [TYPICAL, edges(v), others(v), {}].map((r, i) => insertSql(table, i + 11, r)).join(";\n"),
          [],
          "db1"
        )
        await s.query(copyRowSql(table, 12, 1), [], "db1")
        await s.query(`${copyRowSql(table, 14, 2)}; ${copyRowSql(table, 11, 4)}`, [], "db1")
        await s.query(`update ${table} set id = 15 where id = 14; delete from ${table} where id = 3`, [], "db1")
        // row 13 keeps its 64 kB c_text: sent as unchanged TOAST
        await s.query(`update ${table} set c_posint = 7, c_mood = 'ok' where id = 13`, [], "db1")
        await s.query(`update ${table} set c_text = c_text || E'\\n\\\\N' where id = 12`, [], "db1")
      }
      await sameOnDestination(s, "stream")
    }
  )

  it("the comparison sees a changed value (-0 → 0, a trailing space) and a missing row", async () => {
    const sid = String(sources[0]!.version)
    await check.query("begin")
    try {
      await check.query("update types_hand set c_float4 = 0, c_text = c_text || ' ' where sid = $1 and id = 13", [sid])
      await check.query("delete from types_hand where sid = $1 and id = 4", [sid])
      const found = await mismatches(sources[0]!, "types_a", "types_hand")
      expect(found.map((m) => [m.id, m.col])).toEqual([
        [4, "(row)"],
        [13, "c_float4"],
        [13, "c_text"]
      ])
      expect(found[1]).toMatchObject({ want: "-0", got: "0" })
    } finally {
      await check.query("rollback")
    }
  })

  it.each(versions)("a 100 MB text value from PG%i, then an update that leaves it unchanged (TOAST)", async (v) => {
    const s = sourceOf(v)
    const cols = "length(c_text) as len, md5(c_text) as md5, c_integer"
    const big = `select ${cols} from types_a where id = ${BIG_ID}`
    const bigDest = `select ${cols} from types_hand where sid = $1 and id = ${BIG_ID}`
    let peak = process.memoryUsage().rss
    const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().rss)), 50)
    try {
      await s.query(
        `insert into types_a (id, c_text, c_integer) values (${BIG_ID}, repeat('x', ${BIG_BYTES}), 1)`,
        [],
        "db1"
      )
      const [inserted] = await s.query(big, [], "db1")
      expect(inserted.len).toBe(BIG_BYTES)
      const arrived = async (want: unknown) =>
        JSON.stringify(await dest.query(bigDest, [String(v)], "dest")) === JSON.stringify([want])
      await waitFor(`100 MB row from PG${v}`, () => arrived(inserted), 120_000)
      await s.query(`update types_a set c_integer = 2 where id = ${BIG_ID}`, [], "db1")
      await waitFor(`update of the 100 MB row from PG${v}`, () => arrived({ ...inserted, c_integer: 2 }), 60_000)
    } finally {
      clearInterval(sampler)
    }
    console.info(`PG${v}: 100 MB row streamed, peak RSS ${Math.round(peak / 1024 / 1024)} MB`)
    expect(engine.failed()).toBe(false)
  })
})
