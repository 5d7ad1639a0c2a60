import { describe, expect, it } from "@effect/vitest"
import { textArray } from "../../../src/writers/ApplySql.js"

/** reads a binary-format one-dimensional text[] back (the layout array_recv expects) */
const readTextArray = (buf: Buffer) => {
  const ndim = buf.readInt32BE(0)
  const hasNull = buf.readInt32BE(4)
  const oid = buf.readInt32BE(8)
  if (ndim === 0) return { hasNull, oid, values: [] as Array<string | null>, size: 12 }
  const n = buf.readInt32BE(12)
  const lower = buf.readInt32BE(16)
  let off = 20
  const values: Array<string | null> = []
  for (let i = 0; i < n; i++) {
    const len = buf.readInt32BE(off)
    off += 4
    if (len < 0) values.push(null)
    else {
      values.push(buf.toString("utf8", off, off + len))
      off += len
    }
  }
  return { ndim, hasNull, oid, lower, values, size: off }
}

describe("textArray (binary text[] parameter)", () => {
  it("writes values in order, NULL for null and undefined, with exact length", () => {
    const rows = ["a", null, "", undefined, 'quote " and \\ backslash, {braces}', "naïve ☃ 𝄞"]
    const buf = textArray(rows, (r) => r)
    const back = readTextArray(buf)
    expect(back).toMatchObject({ ndim: 1, hasNull: 1, oid: 25, lower: 1 })
    expect(back.values).toEqual(["a", null, "", null, 'quote " and \\ backslash, {braces}', "naïve ☃ 𝄞"])
    expect(back.size).toBe(buf.length)
  })

  it("flags no NULL when there is none, and projects through the accessor", () => {
    const rows = [{ v: ["x", "1"] }, { v: ["y", "2"] }]
    const back = readTextArray(textArray(rows, (r) => r.v[1]))
    expect(back.hasNull).toBe(0)
    expect(back.values).toEqual(["1", "2"])
  })

  it("an empty array has zero dimensions", () => {
    const buf = textArray([], () => "x")
    expect(buf.length).toBe(12)
    expect(readTextArray(buf)).toMatchObject({ hasNull: 0, oid: 25, values: [] })
  })
})
