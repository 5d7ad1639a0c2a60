import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import type { DdlColumn, DdlEvent } from "../../../src/domain/DdlEvent.js"
import type { Relation } from "../../../src/domain/Relation.js"
import { decodeEvent } from "../../../src/ddl/DdlEvents.js"
import { planDdl, type PlanOptions, type PlanTarget } from "../../../src/ddl/DdlPlan.js"

const col = (attnum: number, name: string, type = "integer", typeOid = 23): DdlColumn => ({
  attnum,
  name,
  type,
  typeOid,
  typeMod: -1
})

const event = (before: Array<DdlColumn> | null, after: Array<DdlColumn> | null, over: Partial<DdlEvent> = {}) => ({
  command: "ALTER TABLE",
  schema: "app",
  name: "t",
  newSchema: "app",
  newName: "t",
  statement: "alter table t …",
  before,
  after,
  ...over
})

const target = (columns: Array<[string, string, boolean?]>, primaryKey = ["id"]): PlanTarget => ({
  schema: "dw",
  name: "t_copy",
  columns: columns.map(([name, typeName, notNull]) => ({ name, typeName, notNull: notNull ?? false })),
  primaryKey
})

const history = { start: "kvsz_start", end: "kvsz_end", deleted: "kvsz_deleted", lsn: "kvsz_lsn" }
const clone: PlanOptions = { mode: "clone", history, multiSource: false, autoCreate: true }

const sqlOf = (e: ReturnType<typeof event>, t: PlanTarget, o = clone) =>
  Either.getOrThrow(planDdl(e, t, o)).steps.map((s) => s.sql)

const base = [col(1, "id"), col(2, "a", "text", 25), col(3, "b")]
const dest = target([
  ["id", "integer", true],
  ["a", "text"],
  ["b", "integer", true]
])

describe("DdlPlan", () => {
  it("matches columns by attnum: rename, drop, retype, add", () => {
    expect(sqlOf(event(base, [col(1, "id"), col(2, "label", "text", 25), col(3, "b")]), dest)).toEqual([
      'alter table "dw"."t_copy" rename column "a" to "label"'
    ])
    expect(sqlOf(event(base, [col(1, "id"), col(3, "b")]), dest)).toEqual([
      'alter table "dw"."t_copy" drop column if exists "a"'
    ])
    expect(sqlOf(event(base, [col(1, "id"), col(2, "a", "text", 25), col(3, "b", "bigint", 20)]), dest)).toEqual([
      'alter table "dw"."t_copy" alter column "b" type bigint using "b"::bigint'
    ])
    expect(sqlOf(event(base, [...base, col(5, "c", "public.mood", 16500)]), dest)).toEqual([
      'alter table "dw"."t_copy" add column if not exists "c" "dw"."mood"'
    ])
    const plan = Either.getOrThrow(planDdl(event(base, [...base, col(5, "c", "public.mood", 16500)]), dest, clone))
    expect(plan.userTypes).toEqual([16500])
  })

  it("is idempotent against a destination that already has the change", () => {
    const renamed = target([
      ["id", "integer"],
      ["label", "text"],
      ["b", "bigint"]
    ])
    expect(sqlOf(event(base, [col(1, "id"), col(2, "label", "text", 25), col(3, "b")]), renamed)).toEqual([])
    expect(sqlOf(event(base, [col(1, "id"), col(2, "a", "text", 25), col(3, "b", "bigint", 20)]), renamed)).toEqual([])
    expect(sqlOf(event(base, [...base, col(4, "label", "text", 25)]), renamed)).toEqual([])
  })

  it("ignores columns the destination does not map, and adds only with auto_create", () => {
    const subset = target([["id", "integer"]])
    expect(sqlOf(event(base, [col(1, "id"), col(2, "z", "text", 25)]), subset)).toEqual([])
    expect(sqlOf(event(base, [...base, col(4, "c")]), dest, { ...clone, autoCreate: false })).toEqual([])
  })

  it("history and shared targets keep a dropped column, made nullable", () => {
    const after = [col(1, "id"), col(2, "a", "text", 25)]
    const keep = ['alter table "dw"."t_copy" alter column "b" drop not null']
    expect(sqlOf(event(base, after), dest, { ...clone, mode: "history" })).toEqual(keep)
    expect(sqlOf(event(base, after), dest, { ...clone, multiSource: true })).toEqual(keep)
    expect(
      sqlOf(event(base, [col(1, "id"), col(2, "l", "text", 25), col(3, "b")]), dest, { ...clone, multiSource: true })
    ).toEqual(['alter table "dw"."t_copy" add column if not exists "l" text'])
  })

  it("names what it cannot apply", () => {
    const left = (e: ReturnType<typeof event>, t = dest) => Either.getLeft(planDdl(e, t, clone))
    expect(left(event(base, null, { command: "DROP TABLE" }))._tag).toBe("Some")
    expect(Either.getLeft(planDdl(event(base, base, { newName: "t2" }), dest, clone))).toMatchObject({
      value: expect.stringContaining("renamed to app.t2")
    })
    expect(Either.getLeft(planDdl(event(base, [col(2, "a", "text", 25), col(3, "b")]), dest, clone))).toMatchObject({
      value: expect.stringContaining(`column "id" was dropped on the source but is part of the destination's key`)
    })
    const both = target([
      ["id", "integer"],
      ["a", "text"],
      ["b", "integer"],
      ["label", "text"]
    ])
    expect(
      Either.isLeft(planDdl(event(base, [col(1, "id"), col(2, "label", "text", 25), col(3, "b")]), both, clone))
    ).toBe(true)
  })

  it("decodes an events row by column name", () => {
    const names = [
      "id",
      "command",
      "schema_name",
      "table_name",
      "new_schema",
      "new_name",
      "statement",
      "before",
      "after"
    ]
    const relation: Relation = {
      oid: 1,
      schema: "walferry",
      name: "ddl_events",
      replicaIdentity: "d",
      columns: names.map((name) => ({ name, typeOid: 25, typeMod: -1, isKey: name === "id" }))
    }
    const cols = JSON.stringify([{ n: 1, name: "id", type: "integer", oid: 23, mod: -1 }])
    const row = ["7", "ALTER TABLE", "app", "t", "app", "t", "alter table t", null, cols]
    expect(decodeEvent(relation, row)).toEqual({
      command: "ALTER TABLE",
      schema: "app",
      name: "t",
      newSchema: "app",
      newName: "t",
      statement: "alter table t",
      before: null,
      after: [{ attnum: 1, name: "id", type: "integer", typeOid: 23, typeMod: -1 }]
    })
    expect(decodeEvent(relation, ["7", null, "app", "t", "app", "t", "", null, "{"])).toBeUndefined()
  })
})
