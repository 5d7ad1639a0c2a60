import { describe, expect, it } from "@effect/vitest"
import { COPY_MIN_ROWS, copyField, copyText, copyWanted } from "../../../src/apply/clone/CopyInsert.js"

describe("CopyInsert text format", () => {
  it("escapes backslash, newline, carriage return and tab, and writes NULL as \\N", () => {
    expect(copyField("plain")).toBe("plain")
    expect(copyField("a\\b\nc\rd\te")).toBe("a\\\\b\\nc\\rd\\te")
    expect(copyField("\\N")).toBe("\\\\N")
    expect(copyField("NULL")).toBe("NULL")
    expect(copyField("")).toBe("")
    expect(copyField(null)).toBe("\\N")
    expect(copyField(undefined)).toBe("\\N")
    expect(copyField("😀 é")).toBe("😀 é")
  })

  it("renders the chosen columns of every row as lines, in pieces", () => {
    const rows = Array.from({ length: 20_000 }, (_, i) => [String(i), "skip", i % 2 === 0 ? null : "x\ty"])
    const text = [...copyText([0, 2], rows)]
    expect(text.length).toBeGreaterThan(1)
    const lines = text.join("").split("\n")
    expect(lines).toHaveLength(20_001)
    expect(lines[0]).toBe("0\t\\N")
    expect(lines[1]).toBe("1\tx\\ty")
    expect(lines[20_000]).toBe("")
  })

  it("is wanted only for runs of at least COPY_MIN_ROWS rows", () => {
    const t = { table: '"public"."never_conflicted"', names: [], assign: [], match: [] }
    expect(copyWanted(t, COPY_MIN_ROWS - 1)).toBe(false)
    expect(copyWanted(t, COPY_MIN_ROWS)).toBe(true)
  })
})
