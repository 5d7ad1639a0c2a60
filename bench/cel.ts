/**
 * CPU cost of CEL filter + set per streamed row, in-process (no servers): a 6-column row change through the
 * RowTransform of a table with `filter: salary != null && salary > 100` and a 3-column `set`, against the same
 * changes dispatched untouched (the path of tables without expressions). `npm run bench:cel -- --rows N`.
 */
import { INSERT, type RowChange } from "../src/domain/Change.js"
import type { Relation } from "../src/domain/Relation.js"
import { RowTransform } from "../src/route/RowTransform.js"
import { arg } from "./args.js"

const rows = arg("rows", 1_000_000)

const relation: Relation = {
  oid: 1,
  schema: "public",
  name: "emp",
  replicaIdentity: "d",
  columns: ["id", "first", "last", "salary", "type", "note"].map((name, i) => ({
    name,
    typeOid: i === 0 || i === 3 ? 23 : 25,
    typeMod: -1,
    isKey: i === 0
  }))
}
const changes: Array<RowChange> = Array.from({ length: 1000 }, (_, i) => ({
  _tag: "Row",
  op: INSERT,
  sid: "",
  source: "db/",
  relation,
  lsn: BigInt(i),
  seq: 1,
  commitTimeUs: 1_700_000_000_000_000n,
  newTuple: [String(i), `first${i}`, `last${i}`, String(i % 300), i % 2 ? "a" : "b", "x".repeat(40)],
  oldTuple: null,
  oldKind: null
}))
const transform = new RowTransform(
  "public.emp",
  {
    filter: "salary != null && salary > 100",
    set: [
      ["id", "id"],
      ["full_name", "first + ' ' + last"],
      ["kind", "_type"]
    ]
  },
  new Set(["id"]),
  () => undefined
)

const time = (label: string, f: (c: RowChange) => unknown) => {
  let kept = 0
  const started = process.hrtime.bigint()
  for (let i = 0; i < rows; i++) if (f(changes[i % 1000]!) !== null) kept++
  const s = Number(process.hrtime.bigint() - started) / 1e9
  console.log(`${label}: ${rows} rows in ${s.toFixed(2)} s = ${((s / rows) * 1e6).toFixed(2)} µs/row (${kept} kept)`)
}

time("warm-up", (c) => transform.apply(c))
time("no expressions", (c) => c)
time("filter + set", (c) => transform.apply(c))
