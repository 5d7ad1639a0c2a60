import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { textArray } from "../../../src/apply/TextArray.js"
import { openApplyDb, type ApplyDb } from "../../support/applyDb.js"

let db: ApplyDb
beforeAll(async () => {
  db = await openApplyDb()
})
afterAll(() => db?.close())

describe("TextArray: text[] parameters in binary array format", () => {
  it("the server reads back every element as sent: NULLs, empty, quotes, backslashes, braces, UTF-8", async () => {
    const values = ["plain", null, "", 'say "hi"', "back\\slash", "{a,b}", "NULL", "žluťoučký 🐘", " sp ", undefined]
    const rows = await db.sql(
      "select n::int, v, v is null as isnull from unnest($1::text[]) with ordinality as d(v, n)",
      [textArray(values)]
    )
    expect(rows.map((r) => r.v)).toEqual(values.map((v) => v ?? null))
    expect(rows.map((r) => r.isnull)).toEqual(values.map((v) => v === null || v === undefined))
  })

  it("an empty array, and a large one past the encoder's scratch buffer", async () => {
    const [empty] = await db.sql("select cardinality($1::text[])::int n", [textArray([])])
    expect(empty.n).toBe(0)
    const big = Array.from({ length: 30_000 }, (_, i) => `${i}:${"x".repeat(i % 50)}`)
    const [r] = await db.sql("select cardinality(a)::int n, a[1] f, a[30000] l from (select $1::text[] a) s", [
      textArray(big)
    ])
    expect(r).toEqual({ n: 30_000, f: big[0], l: big[29_999] })
  })

  it("values cast in SQL as the apply statements do: a bad value fails naming its type", async () => {
    const [ok] = await db.sql("select array_agg(cast(v as int))::text a from unnest($1::text[]) v", [
      textArray(["1", "-2", null])
    ])
    expect(ok.a).toBe("{1,-2,NULL}")
    await expect(db.sql("select cast(v as int) from unnest($1::text[]) v", [textArray(["x"])])).rejects.toThrow(
      /invalid input syntax for type integer/
    )
  })
})
