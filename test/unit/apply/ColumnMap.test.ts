import { describe, expect, it } from "@effect/vitest"
import type { ApplyTarget } from "../../../src/apply/ApplyTarget.js"
import { assignType } from "../../../src/apply/clone/ApplySql.js"
import { columnMap, FROM_SID, UNMAPPED } from "../../../src/apply/ColumnMap.js"
import { relation } from "../../support/changes.js"

const target = (columns: ReadonlyArray<string>, primaryKey: ReadonlyArray<string> = []): ApplyTarget => ({
  schema: "public",
  name: "t",
  columns: columns.map((name) => ({ name, typeName: "text" })),
  primaryKey,
  hasSid: columns.includes("sid")
})

describe("ColumnMap", () => {
  it("maps destination columns from source columns by name, sid from the change", () => {
    const rel = relation("t1", ["id", "name", "salary", "garbage"], { key: ["id"] })
    const map = columnMap(rel, target(["sid", "id", "name", "salary", "loaded"], ["sid", "id"]))
    expect([...map.sourceOf]).toEqual([FROM_SID, 0, 1, 2, UNMAPPED])
    expect(map).toMatchObject({
      mode: "keyed",
      mapped: [0, 1, 2, 3],
      key: [0, 1],
      conflict: [0, 1],
      conflictIsKey: true
    })
  })

  it("caches per relation and target object", () => {
    const rel = relation("t1", ["id"], { key: ["id"] })
    const t = target(["id"], ["id"])
    expect(columnMap(rel, t)).toBe(columnMap(rel, t))
    expect(columnMap(rel, target(["id"], ["id"]))).not.toBe(columnMap(rel, t))
    expect(columnMap(relation("t1", ["id"], { key: ["id"] }), t)).not.toBe(columnMap(rel, t))
  })

  it("chooses full-row matching for REPLICA IDENTITY FULL without a usable destination key", () => {
    const rel = relation("t2", ["id", "name"], { identity: "f" })
    expect(columnMap(rel, target(["sid", "id", "name"])).mode).toBe("full-row")
    expect(columnMap(rel, target(["id", "name", "kvsz_id"], ["kvsz_id"])).mode).toBe("full-row")
    expect(columnMap(rel, target(["id", "name"], ["id"]))).toMatchObject({ mode: "keyed", key: [0] })
  })

  it("keeps the replica identity key even when the destination key differs", () => {
    const rel = relation("t", ["id", "code"], { key: ["id"] })
    expect(columnMap(rel, target(["sid", "id", "code"], ["code"]))).toMatchObject({
      key: [0, 1],
      conflict: [2],
      conflictIsKey: false
    })
  })

  it("rejects a destination lacking a key column or any common column", () => {
    const rel = relation("t", ["id", "name"], { key: ["id"] })
    expect(() => columnMap(rel, target(["name"]))).toThrow('walferry: table public.t: key column "id" is missing')
    expect(() => columnMap(rel, target(["sid", "other"]))).toThrow("no column in common")
  })
})

describe("assignType", () => {
  it("drops type modifiers so that the column's assignment coercion applies", () => {
    expect(assignType("character varying(20)")).toBe("character varying")
    expect(assignType("numeric(10,2)[]")).toBe("numeric[]")
    expect(assignType("timestamp(3) with time zone")).toBe("timestamp with time zone")
    expect(assignType("interval day to second(3)")).toBe("interval day to second")
    expect(assignType("public.mood")).toBe("public.mood")
    expect(assignType('"My (1) Type"[]')).toBe('"My (1) Type"[]')
  })

  it("keeps char and bit unlimited instead of their length-1 defaults", () => {
    expect(assignType("character(5)")).toBe("pg_catalog.bpchar")
    expect(assignType("character(5)[]")).toBe("pg_catalog.bpchar[]")
    expect(assignType("bit(3)")).toBe('pg_catalog."bit"')
    expect(assignType("bit varying(3)")).toBe("bit varying")
    expect(assignType('"char"')).toBe('"char"')
  })
})
