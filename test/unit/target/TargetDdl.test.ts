import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import type { Relation } from "../../../src/domain/Relation.js"
import type { SourceColumn, SourceTable, SourceType } from "../../../src/source/SourceCatalog.js"
import {
  createTableSql,
  createTypeSql,
  diffRelation,
  historyIdColumn,
  parseQualifiedType,
  quoteLiteral,
  retargetTypes,
  sameTypeName,
  typeDifference,
  typesUsedBy,
  type TableSpec
} from "../../../src/target/TargetDdl.js"

const HISTORY = { start: "kvsz_start", end: "kvsz_end", deleted: "kvsz_deleted", lsn: "kvsz_lsn" }

const col = (name: string, typeName: string, extra: Partial<SourceColumn> = {}): SourceColumn => ({
  name,
  attnum: 0,
  typeOid: 0,
  typeName,
  notNull: false,
  isPrimaryKey: false,
  isGenerated: false,
  ...extra
})

const mood: SourceType = { _tag: "Enum", oid: 1, schema: "app", name: "Mood", labels: ["ok", "it's", "a\\b"] }
const complex: SourceType = {
  _tag: "Composite",
  oid: 2,
  schema: "app",
  name: "complex",
  attributes: [
    { name: "r", typeOid: 701, typeName: "double precision" },
    { name: "m", typeOid: 1, typeName: 'app."Mood"' }
  ]
}
const positive: SourceType = {
  _tag: "Domain",
  oid: 3,
  schema: "public",
  name: "positive",
  baseType: "numeric(10,2)",
  notNull: true,
  default: "1",
  constraints: [{ name: "positive_check", definition: "CHECK ((VALUE > (0)::numeric))" }]
}

const table = (extra: Partial<SourceTable> = {}): SourceTable => ({
  oid: 10,
  schema: "app",
  name: "t",
  relkind: "r",
  replicaIdentity: "d",
  columns: [
    col("id", "integer", { notNull: true, isPrimaryKey: true }),
    col("m", 'app."Mood"[]'),
    col("c", "app.complex", { notNull: true }),
    col("g", "integer", { notNull: true, isGenerated: true })
  ],
  primaryKey: ["id"],
  identityColumns: ["id"],
  partitions: [],
  types: [mood, complex],
  ...extra
})

const spec = (extra: Partial<TableSpec> = {}): TableSpec => ({
  destSchema: "dst",
  target: "T",
  mode: "clone",
  history: HISTORY,
  multiSource: false,
  source: table(),
  ...extra
})

const sql = (s: TableSpec) => Either.getOrThrow(createTableSql(s, retargetTypes(s.source.types, s.destSchema)))

describe("TargetDdl", () => {
  it("parses and compares qualified type names", () => {
    expect(parseQualifiedType('app."Mo""od"[]')).toEqual({ schema: "app", name: 'Mo"od', suffix: "[]" })
    expect(parseQualifiedType("numeric(10,2)")).toBeUndefined()
    expect(parseQualifiedType("timestamp with time zone")).toBeUndefined()
    expect(sameTypeName('"app"."mood"[]', "app.mood[]")).toBe(true)
    expect(sameTypeName("app.mood", "app.mood[]")).toBe(false)
  })

  it("moves source user types into the destination schema, and only those", () => {
    const rt = retargetTypes([mood], "dst")
    expect(rt('app."Mood"[]')).toBe('"dst"."Mood"[]')
    expect(rt("public.citext")).toBe("public.citext")
    expect(rt("integer[]")).toBe("integer[]")
  })

  it("quotes any label as an E'' literal", () => {
    expect(quoteLiteral("it's a \\N\tx")).toBe("E'it''s a \\\\N\tx'")
  })

  it("builds enum, composite and domain DDL", () => {
    const rt = retargetTypes([mood, complex, positive], "dst")
    expect(createTypeSql(mood, "dst", rt)).toBe(`create type "dst"."Mood" as enum (E'ok', E'it''s', E'a\\\\b')`)
    expect(createTypeSql(complex, "dst", rt)).toBe(
      `create type "dst"."complex" as ("r" double precision, "m" "dst"."Mood")`
    )
    expect(createTypeSql(positive, "dst", rt)).toBe(
      `create domain "dst"."positive" as numeric(10,2) not null ` +
        `constraint "positive_check" CHECK ((VALUE > (0)::numeric))`
    )
  })

  it("reports a type that differs from the source", () => {
    const rt = retargetTypes([mood, complex], "dst")
    expect(typeDifference(mood, { ...mood, schema: "dst" }, rt)).toBeUndefined()
    expect(typeDifference(mood, { ...mood, labels: ["ok"] }, rt)).toMatch(/labels \(ok\)/)
    const moved = {
      ...complex,
      attributes: [complex.attributes[0]!, { ...complex.attributes[1]!, typeName: 'dst."Mood"' }]
    }
    expect(typeDifference(complex, moved, rt)).toBeUndefined()
    expect(typeDifference(complex, complex, rt)).toMatch(/attributes/)
    expect(typeDifference(positive, { ...positive, baseType: "numeric" }, rt)).toMatch(/base type numeric/)
    expect(typeDifference(positive, { ...positive, constraints: [] }, rt)).toMatch(/checks/)
    expect(typeDifference(mood, complex, rt)).toMatch(/composite/)
  })

  it("finds the types a column list needs, through composites and domains", () => {
    const d: SourceType = { ...positive, schema: "app", name: "d", baseType: "app.complex" }
    expect(typesUsedBy([mood, complex, d], ["app.d[]"]).map((t) => t.name)).toEqual(["Mood", "complex", "d"])
    expect(typesUsedBy([mood, complex, d], ["integer"])).toEqual([])
  })

  it("creates a clone table: same columns and types, NOT NULL kept, no default, source PK", () => {
    expect(sql(spec())).toBe(
      `create table "dst"."T" (\n  "id" integer not null,\n  "m" "dst"."Mood"[],\n  "c" "dst"."complex" not null,\n` +
        `  "g" integer,\n  primary key ("id")\n)`
    )
  })

  it("adds sid first, in the column list and the key", () => {
    const s = sql(spec({ multiSource: true }))
    expect(s).toMatch(/^create table "dst"."T" \(\n {2}"sid" text not null,\n {2}"id"/)
    expect(s).toMatch(/primary key \("sid", "id"\)/)
  })

  it("uses the replica identity index without a PK, and no key for REPLICA IDENTITY FULL", () => {
    expect(sql(spec({ source: table({ primaryKey: [], identityColumns: ["c", "id"] }) }))).toMatch(
      /primary key \("c", "id"\)/
    )
    expect(sql(spec({ source: table({ primaryKey: [], identityColumns: [] }) }))).not.toMatch(/primary key/)
  })

  it("creates a history table with its columns and surrogate key", () => {
    const s = sql(spec({ mode: "history", multiSource: true }))
    expect(s).toContain(`"kvsz_id" bigserial`)
    expect(s).toContain(`"kvsz_start" timestamptz not null`)
    expect(s).toContain(`"kvsz_end" timestamptz not null default '9999-01-01 00:00:00+00'`)
    expect(s).toContain(`"kvsz_deleted" boolean not null default false`)
    expect(s).toContain(`"kvsz_lsn" numeric`)
    expect(s).toMatch(/primary key \("sid", "id", "kvsz_id"\)/)
    expect(historyIdColumn({ start: "h_from", end: "h_to", deleted: "h_del", lsn: "h_lsn" })).toBe("h_id")
    expect(historyIdColumn({ start: "valid_from", end: "valid_to", deleted: "gone", lsn: "lsn" })).toBe(
      "walferry_history_id"
    )
  })

  it("refuses a source column that clashes with an added column", () => {
    const source = table({ columns: [...table().columns, col("sid", "text")] })
    expect(Either.isLeft(createTableSql(spec({ source, multiSource: true }), (t) => t))).toBe(true)
    expect(Either.isRight(createTableSql(spec({ source }), (t) => t))).toBe(true)
  })

  it("diffs relations: added, dropped and retyped columns", () => {
    const rel = (cols: ReadonlyArray<[string, number, number]>): Relation => ({
      oid: 1,
      schema: "app",
      name: "t",
      replicaIdentity: "d",
      columns: cols.map(([name, typeOid, typeMod]) => ({ name, typeOid, typeMod, isKey: name === "id" }))
    })
    const target = { columns: [{ name: "id" }, { name: "a" }, { name: "b" }] }
    const prev = rel([
      ["id", 23, -1],
      ["a", 23, -1],
      ["b", 1043, 14]
    ])
    const next = rel([
      ["id", 23, -1],
      ["b", 1043, 24],
      ["c", 25, -1]
    ])
    const d = diffRelation(prev, next, target)
    expect(d.add.map((c) => c.name)).toEqual(["c"])
    expect(d.dropped).toEqual(["a"])
    expect(d.retyped.map((r) => [r.column, r.previous.typeMod, r.next.typeMod])).toEqual([["b", 14, 24]])
    expect(diffRelation(undefined, next, target)).toMatchObject({ dropped: [], retyped: [] })
  })
})
