import { evaluate } from "@marcbachmann/cel-js"
import { describe, expect, it } from "vitest"
import { DELETE, INSERT, UPDATE, type RowChange, type Tuple } from "../../../src/domain/Change.js"
import type { Relation } from "../../../src/domain/Relation.js"
import { fromCel, toCel } from "../../../src/route/CelValues.js"
import {
  bindRow,
  compileExpressions,
  ExpressionInvalid,
  passes,
  project,
  syntaxError,
  variableName
} from "../../../src/route/RowExpressions.js"
import { RowTransform, type RowFailure } from "../../../src/route/RowTransform.js"

const INT4 = 23
const TEXT = 25
const FLOAT8 = 701
const TIMESTAMPTZ = 1184

const columns = [
  { name: "id", typeOid: INT4, notNull: true, isKey: true },
  { name: "first", typeOid: TEXT, notNull: true, isKey: false },
  { name: "last", typeOid: TEXT, notNull: false, isKey: false },
  { name: "amount", typeOid: FLOAT8, notNull: false, isKey: false },
  { name: "type", typeOid: TEXT, notNull: false, isKey: false },
  { name: "at", typeOid: TIMESTAMPTZ, notNull: false, isKey: false }
]

const relation: Relation = {
  oid: 1,
  schema: "public",
  name: "emp",
  replicaIdentity: "d",
  columns: columns.map((c) => ({ name: c.name, typeOid: c.typeOid, typeMod: -1, isKey: c.isKey }))
}

const invalid = (f: () => unknown): ExpressionInvalid => {
  try {
    f()
  } catch (e) {
    if (e instanceof ExpressionInvalid) return e
    throw e
  }
  throw new Error("expected ExpressionInvalid")
}

describe("RowExpressions: compile and type-check", () => {
  it("names reserved columns with a leading underscore, as kuvasz (`type` → `_type`)", () => {
    expect(variableName("type")).toBe("_type")
    expect(variableName("amount")).toBe("amount")
    expect(variableName("in")).toBe("_in")
    expect(variableName("has space")).toBeUndefined()
  })

  it("rejects syntax errors, unknown columns, type errors and non-boolean filters, naming table and expression", () => {
    expect(syntaxError("amount >")).toBeDefined()
    expect(syntaxError("whatever > 3")).toBeUndefined()
    const unknown = invalid(() =>
      compileExpressions("public.emp", { filter: "salary > 3", set: undefined }, columns, false)
    )
    expect(unknown.message).toMatch(/^table public\.emp: filter expression "salary > 3" is invalid: .*salary/)
    const typed = invalid(() =>
      compileExpressions("public.emp", { filter: "first > 3", set: undefined }, columns, false)
    )
    expect(typed.key).toBe("filter")
    expect(typed.detail).toMatch(/no such overload/)
    const notBool = invalid(() =>
      compileExpressions("public.emp", { filter: "id + 1", set: undefined }, columns, false)
    )
    expect(notBool.detail).toMatch(/must be boolean, this one is int/)
    const set = invalid(() =>
      compileExpressions("public.emp", { filter: undefined, set: [["n", "id + 'x'"]] }, columns, false)
    )
    expect(set.key).toBe("set.n")
    const noKey = invalid(() =>
      compileExpressions("public.emp", { filter: undefined, set: [["n", "first"]] }, columns, false)
    )
    expect(noKey.detail).toMatch(/no column is computed from the source key \(id\)/)
  })

  it("evaluates a filter and a set over a row's text values; NULL is CEL null in nullable columns", () => {
    const c = compileExpressions(
      "public.emp",
      {
        filter: "amount != null && amount > 100.0 && _type == 'a'",
        set: [
          ["pid", "id * 100"],
          ["full", "first + ' ' + last"],
          ["year", "at.getFullYear()"],
          ["big", "amount > 1000.0"]
        ]
      },
      columns,
      false
    )
    expect(c.set!.map((s) => s.fromKey)).toEqual([true, false, false, false])
    const now = new Date(0)
    const row: Tuple = ["7", "Ada", "Lovelace", "1500.5", "a", "2024-03-01 10:00:00.123456+01"]
    const ctx = bindRow(c, row, now)
    expect(passes(c, ctx)).toBe(true)
    expect(project(c, ctx, false)).toEqual(["700", "Ada Lovelace", "2024", "true"])
    expect(project(c, ctx, true)).toEqual(["700", null, null, null])
    expect(passes(c, bindRow(c, ["7", "Ada", null, null, "a", null], now))).toBe(false)
    expect(passes(c, bindRow(c, ["7", "Ada", null, "50", "a", null], now))).toBe(false)
    expect(() => project(c, bindRow(c, ["7", "Ada", null, "5", "a", null], now), false)).toThrow(/set\.full/)
  })

  it("converts values both ways", () => {
    expect(toCel("int", "-12")).toBe(-12n)
    expect(toCel("bytes", "\\x0aff")).toEqual(Uint8Array.from([10, 255]))
    expect((toCel("timestamp", "2024-01-02 03:04:05+00") as Date).toISOString()).toBe("2024-01-02T03:04:05.000Z")
    expect(fromCel(12n)).toBe("12")
    expect(fromCel(Uint8Array.from([1, 2]))).toBe("\\x0102")
    expect(fromCel(null)).toBeNull()
    expect(fromCel([1n, "a"])).toBe('["1","a"]')
  })

  it("writes a CEL uint as its number", () => {
    expect(fromCel(evaluate("5u"))).toBe("5")
    expect(fromCel(evaluate("uint(18446744073709551615)"))).toBe("18446744073709551615")
  })
})

describe("RowTransform", () => {
  const change = (op: RowChange["op"], newTuple: Tuple | null, oldTuple: Tuple | null, oldKind: "K" | "O" | null) =>
    ({
      _tag: "Row",
      op,
      sid: "",
      source: "db/",
      relation,
      lsn: 10n,
      seq: 1,
      commitTimeUs: 1_700_000_000_000_000n,
      newTuple,
      oldTuple,
      oldKind,
      tx: undefined
    }) as RowChange
  const failures: Array<RowFailure> = []
  const t = new RowTransform(
    "public.emp",
    {
      filter: "amount == null || amount > 10.0",
      set: [
        ["pid", "id * 100"],
        ["full", "first + ' ' + last"]
      ]
    },
    new Set(["id", "first"]),
    (f) => failures.push(f)
  )
  const row = (id: string, amount: string | null, last: string | null = "L"): Tuple => [
    id,
    "F",
    last,
    amount,
    "x",
    null
  ]

  it("filters inserts and updates on the new row, projects the set and translates the old key", () => {
    expect(t.apply(change(INSERT, row("1", "5"), null, null))).toBeNull()
    const ins = t.apply(change(INSERT, row("1", "50"), null, null))!
    expect(ins.relation.columns.map((c) => [c.name, c.isKey])).toEqual([
      ["pid", true],
      ["full", false]
    ])
    expect(ins.newTuple).toEqual(["100", "F L"])
    const moved = t.apply(change(UPDATE, row("2", "50"), ["1", null, null, null, null, null], "K"))!
    expect(moved.newTuple).toEqual(["200", "F L"])
    expect(moved.oldTuple).toEqual(["100", null])
    expect(t.apply(change(UPDATE, row("2", "1"), null, null))).toBeNull()
  })

  it("applies a key-only delete by its translated key; filters a full-image delete", () => {
    const del = t.apply(change(DELETE, null, ["3", null, null, null, null, null], "K"))!
    expect(del.oldTuple).toEqual(["300", null])
    expect(t.apply(change(DELETE, null, row("3", "1"), "O"))).toBeNull()
  })

  it("reports a row whose evaluation fails with its key, and drops it", () => {
    failures.length = 0
    expect(t.apply(change(INSERT, row("9", "50", null), null, null))).toBeNull()
    expect(failures).toHaveLength(1)
    expect(failures[0]).toMatchObject({ table: "public.emp", key: "id=9" })
    expect(failures[0]!.detail).toMatch(/set\.full/)
  })
})
