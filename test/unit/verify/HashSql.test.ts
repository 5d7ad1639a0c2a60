import { describe, expect, it } from "@effect/vitest"
import { columnHashSql, rowHashSql } from "../../../src/verify/HashSql.js"

describe("hash SQL", () => {
  it("hashes a column of one built-in type on both sides with its own hash function, seeded by position", () => {
    expect(columnHashSql({ name: "id", sameType: "bigint" }, 1)).toBe('coalesce(hashint8extended("id", 1), -2)')
    expect(columnHashSql({ name: "at", sameType: "timestamp(3) with time zone" }, 2)).toBe(
      'coalesce(timestamp_hash_extended("at"::timestamp, 2), -3)'
    )
    expect(columnHashSql({ name: "n", sameType: "numeric(10,2)" }, 3)).toContain("hash_numeric_extended")
  })

  it("falls back to the text form when the types differ or have no known hash", () => {
    expect(columnHashSql({ name: 'we"ird', sameType: undefined }, 1)).toBe(
      'coalesce(hashtextextended("we""ird"::text collate "C", 1), -2)'
    )
    expect(columnHashSql({ name: "tags", sameType: "text[]" }, 4)).toContain('"tags"::text collate "C"')
  })

  it("a row's hash XORs its columns' inside parentheses", () => {
    const sql = rowHashSql([
      { name: "a", sameType: "integer" },
      { name: "b", sameType: "text" }
    ])
    expect(sql.startsWith("(") && sql.endsWith(")")).toBe(true)
    expect(sql.split(" # ")).toHaveLength(2)
  })
})
