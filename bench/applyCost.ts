/**
 * What applying a row costs the destination, by statement form, on bench:oltp's 1,000,000-row accounts table
 * (random keys, every row present): the set-based forms walferry sends (an upsert over unnest'ed text[]
 * parameters; the update-else-insert CTEs it uses for rows with unchanged-TOAST gaps; a plain UPDATE … FROM,
 * the least a set-based update can do; the upsert as one statement with the table's position, as a batch is
 * sent, and the same with an UPDATE whose position is written only if it found every row, the alternative an
 * update-only batch could take) against one prepared UPDATE per row, the closest a client can come to
 * native logical replication's row-at-a-time apply. It reads the backend's own CPU from /proc, per row, at a
 * large and a small batch size: the large one is the per-row floor, the small one adds each statement's
 * fixed cost (a live stream's batch). No walferry process is involved; this is the destination's share of
 * bench:oltp's "destination backend" column.
 * Usage: npm run bench:apply [-- --rows 500 --small 10 --batches 100 --rounds 2 --version 17]
 */
import { readFileSync } from "node:fs"
import pg from "pg"
import { textArray } from "../src/apply/TextArray.js"
import { startPgServer, type PgVersion } from "../test/support/PgServer.js"
import { arg } from "./args.js"

const ROWS = arg("rows", 500)
const SMALL = arg("small", 10)
const BATCHES = arg("batches", 100)
const ROUNDS = arg("rounds", 2)
const VERSION = arg("version", 17) as PgVersion
const ACCOUNTS = 1_000_000

const cpuTicks = (pid: number): number => {
  const fields = readFileSync(`/proc/${pid}/stat`, "utf8").split(") ")[1]!.split(" ")
  return Number(fields[11]) + Number(fields[12])
}

const COLUMNS = "unnest($1::text[], $2::text[], $3::text[], $4::text[])"
const CAST = "CAST(d.c0 AS int4), CAST(d.c1 AS int4), CAST(d.c2 AS int4), CAST(d.c3 AS bpchar)"
const SET = "bid = CAST(d.c1 AS int4), abalance = CAST(d.c2 AS int4), filler = CAST(d.c3 AS bpchar)"

/** what walferry's single statement adds: the table's position, in the same statement */
const POSITIONS =
  "INSERT INTO positions (target, source, lsn) SELECT $5, $6, $7::pg_lsn ON CONFLICT (target, source) DO UPDATE SET lsn = EXCLUDED.lsn RETURNING 1"

type Form = (client: pg.Client, keys: ReadonlyArray<number>) => Promise<unknown>

const arrays = (keys: ReadonlyArray<number>) => [
  textArray(keys.map(String)),
  textArray(keys.map((k) => String(Math.ceil(k / 100_000)))),
  textArray(keys.map(() => String(Math.floor(Math.random() * 10_000)))),
  textArray(keys.map(() => ""))
]

const FORMS: ReadonlyArray<readonly [string, Form]> = [
  [
    "upsert (INSERT … ON CONFLICT)",
    (c, keys) =>
      c.query({
        name: "upsert",
        text: `INSERT INTO accounts (aid, bid, abalance, filler) SELECT ${CAST} FROM ${COLUMNS} AS d(c0, c1, c2, c3) ON CONFLICT (aid) DO UPDATE SET bid = EXCLUDED.bid, abalance = EXCLUDED.abalance, filler = EXCLUDED.filler`,
        values: arrays(keys)
      })
  ],
  [
    "update, else insert (CTEs)",
    (c, keys) =>
      c.query({
        name: "merge",
        text:
          `WITH d AS (SELECT * FROM ${COLUMNS} WITH ORDINALITY AS d(c0, c1, c2, c3, n)), ` +
          `u AS (UPDATE accounts AS t SET ${SET} FROM d WHERE t.aid = CAST(d.c0 AS int4) RETURNING d.n), ` +
          `i AS (INSERT INTO accounts (aid, bid, abalance, filler) SELECT ${CAST} FROM d WHERE NOT EXISTS (SELECT 1 FROM u WHERE u.n = d.n) RETURNING 1) ` +
          `SELECT (SELECT count(*) FROM u)::int AS u, (SELECT count(*) FROM i)::int AS i`,
        values: arrays(keys)
      })
  ],
  [
    "UPDATE … FROM unnest",
    (c, keys) =>
      c.query({
        name: "update",
        text: `UPDATE accounts AS t SET ${SET} FROM ${COLUMNS} AS d(c0, c1, c2, c3) WHERE t.aid = CAST(d.c0 AS int4)`,
        values: arrays(keys)
      })
  ],
  [
    "upsert + positions, one statement",
    (c, keys) =>
      c.query({
        name: "upsert_p",
        text:
          `WITH w AS (INSERT INTO accounts (aid, bid, abalance, filler) SELECT ${CAST} FROM ${COLUMNS} AS d(c0, c1, c2, c3) ON CONFLICT (aid) DO UPDATE SET bid = EXCLUDED.bid, abalance = EXCLUDED.abalance, filler = EXCLUDED.filler RETURNING 1), ` +
          `p AS (${POSITIONS}) SELECT (SELECT count(*) FROM w)::int AS w`,
        values: [...arrays(keys), "accounts", "s1", "0/1"]
      })
  ],
  [
    "update + guarded positions, one statement",
    (c, keys) =>
      c.query({
        name: "update_p",
        text:
          `WITH w AS (UPDATE accounts AS t SET ${SET} FROM ${COLUMNS} AS d(c0, c1, c2, c3) WHERE t.aid = CAST(d.c0 AS int4) RETURNING 1), ` +
          `p AS (${POSITIONS.replace("ON CONFLICT", "WHERE (SELECT count(*) FROM w) = $8 ON CONFLICT")}) SELECT (SELECT count(*) FROM w)::int AS w`,
        values: [...arrays(keys), "accounts", "s1", "0/1", keys.length]
      })
  ],
  [
    "one UPDATE per row (prepared)",
    async (c, keys) => {
      await c.query("BEGIN")
      for (const k of keys) {
        await c.query({
          name: "row",
          text: "UPDATE accounts SET bid = $2, abalance = $3, filler = $4 WHERE aid = $1",
          values: [k, Math.ceil(k / 100_000), Math.floor(Math.random() * 10_000), ""]
        })
      }
      await c.query("COMMIT")
    }
  ]
]

const randomKeys = (n: number): Array<number> => {
  const keys = new Set<number>()
  while (keys.size < n) keys.add(1 + Math.floor(Math.random() * ACCOUNTS))
  return [...keys]
}

/** backend CPU µs per row of `form` at `size` rows per statement */
const measure = async (c: pg.Client, pid: number, form: Form, size: number): Promise<number> => {
  const batches = Math.max(1, Math.round((BATCHES * ROWS) / size))
  for (let i = 0; i < 5; i++) await form(c, randomKeys(size))
  const before = cpuTicks(pid)
  for (let i = 0; i < batches; i++) await form(c, randomKeys(size))
  return ((cpuTicks(pid) - before) * 10_000) / (batches * size)
}

const server = await startPgServer({ version: VERSION, settings: { shared_buffers: "512MB", max_wal_size: "8GB" } })
try {
  await server.createDatabase("apply_cost")
  const client = new pg.Client({ connectionString: server.url("apply_cost") })
  await client.connect()
  await client.query(
    "CREATE TABLE accounts (aid int PRIMARY KEY, bid int NOT NULL, abalance int NOT NULL, filler char(84))"
  )
  await client.query(
    `INSERT INTO accounts SELECT g, (g - 1) / 100000 + 1, 0, '' FROM generate_series(1, ${ACCOUNTS}) AS g`
  )
  await client.query("CREATE TABLE positions (target text, source text, lsn pg_lsn, PRIMARY KEY (target, source))")
  await client.query("VACUUM ANALYZE accounts")
  const pid = Number((await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid")).rows[0]!.pid)
  console.log(
    `destination backend CPU per row, Postgres ${VERSION}, random rows of ${ACCOUNTS.toLocaleString("en-US")}, ` +
      `${ROWS} and ${SMALL} rows per statement (µs)`
  )
  for (let round = 1; round <= ROUNDS; round++) {
    const rows: Record<string, Record<string, string>> = {}
    for (const [name, form] of FORMS) {
      rows[name] = {
        [`${ROWS} rows`]: (await measure(client, pid, form, ROWS)).toFixed(1),
        [`${SMALL} rows`]: (await measure(client, pid, form, SMALL)).toFixed(1)
      }
    }
    console.log(`round ${round} of ${ROUNDS}`)
    console.table(rows)
  }
  await client.end()
} finally {
  await server.stop()
}
