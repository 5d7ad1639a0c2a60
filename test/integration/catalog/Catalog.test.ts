import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import pg from "pg"
import { describeSourceTable, listTables } from "../../../src/source/SourceCatalog.js"
import { describeTargetTable } from "../../../src/target/TargetCatalog.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { testVersions } from "../../support/versions.js"

const SETUP = `
  create schema "My Schema";
  create type "My Schema"."Mood" as enum ('sad', 'ok', 'happy');
  create domain "My Schema".positive as numeric(10,2) not null default 1 check (value > 0);
  create domain "My Schema".mood_d as "My Schema"."Mood" constraint not_sad check (value <> 'sad');
  create type "My Schema".complex as (r float8, i float8, m "My Schema"."Mood");
  create table "My Schema"."Order" (
    "select" int, "Id" bigint, drop_me int, "from" text not null, price "My Schema".positive,
    moods "My Schema"."Mood"[], md "My Schema".mood_d, c "My Schema".complex,
    total numeric(12,3) generated always as (price * 2) stored,
    primary key ("Id", "select"));
  alter table "My Schema"."Order" drop column drop_me;

  create table events (id int, at date, primary key (id, at)) partition by range (at);
  create table events_2024 partition of events for values from ('2024-01-01') to ('2025-01-01') partition by list (id);
  create table events_2024_a partition of events_2024 for values in (1, 2);
  create table events_2024_b partition of events_2024 for values in (3);
  create table events_2025 partition of events for values from ('2025-01-01') to ('2026-01-01');

  create table rif (a int, b text);
  alter table rif replica identity full;
  create table ri_idx (a int not null, b int not null, c text primary key);
  create unique index ri_idx_ba on ri_idx (b, a);
  alter table ri_idx replica identity using index ri_idx_ba;
  create table nothing (id int primary key);
  alter table nothing replica identity nothing;
  create table nopk (v text);
  create view a_view as select 1 as x;
  create unlogged table scratch (id int);

  create type mood as enum ('a', 'b');
  create table dst (
    sid text not null, id int not null, amount numeric(10,2), tags integer[], mood mood, note text default 'x',
    ident int generated always as identity, gen int generated always as (id * 2) stored,
    primary key (sid, id));
  create unique index dst_amount on dst (amount);
  create unique index dst_partial on dst (note) where note is not null;
  create unique index dst_expr on dst (lower(note));
  alter table dst add constraint dst_deferred unique (tags) deferrable;
  create table "we""ird" ("a""b" int);
`

describe.each(testVersions())("catalog on Postgres %i", (version) => {
  let server: TestPg
  let client: pg.Client

  beforeAll(async () => {
    server = await startTestPg({ version })
    const url = await server.createDatabase("catalog")
    await server.query(SETUP, [], "catalog")
    client = new pg.Client({ connectionString: url })
    await client.connect()
  })

  afterAll(async () => {
    await client?.end().catch(() => undefined)
    await server?.stop()
  })

  it.effect("describes columns, keys and the user types of a mixed-case table", () =>
    Effect.gen(function* () {
      const t = yield* describeSourceTable(client, "My Schema", "Order")
      expect(t).toBeDefined()
      if (!t) return
      expect(t.oid).toBeTypeOf("number")
      expect(t).toMatchObject({ schema: "My Schema", name: "Order", relkind: "r", replicaIdentity: "d" })
      expect(t.primaryKey).toEqual(["Id", "select"])
      expect(t.identityColumns).toEqual(["Id", "select"])
      expect(t.partitions).toEqual([])
      expect(t.columns.map((c) => [c.name, c.attnum, c.typeName, c.notNull, c.isPrimaryKey, c.isGenerated])).toEqual([
        ["select", 1, "integer", true, true, false],
        ["Id", 2, "bigint", true, true, false],
        ["from", 4, "text", true, false, false],
        ["price", 5, '"My Schema".positive', false, false, false],
        ["moods", 6, '"My Schema"."Mood"[]', false, false, false],
        ["md", 7, '"My Schema".mood_d', false, false, false],
        ["c", 8, '"My Schema".complex', false, false, false],
        ["total", 9, "numeric(12,3)", false, false, true]
      ])
      expect(t.columns[0]!.typeOid).toBe(23)
      expect(t.types.map((ty) => `${ty._tag} ${ty.schema}.${ty.name}`)).toEqual([
        "Domain My Schema.positive",
        "Enum My Schema.Mood",
        "Domain My Schema.mood_d",
        "Composite My Schema.complex"
      ])
      const [positive, mood, moodD, complex] = t.types
      expect(positive).toMatchObject({ baseType: "numeric(10,2)", notNull: true, default: "1" })
      expect(positive?._tag === "Domain" && positive.constraints[0]?.definition).toBe("CHECK ((VALUE > (0)::numeric))")
      expect(mood).toMatchObject({ labels: ["sad", "ok", "happy"] })
      expect(moodD).toMatchObject({
        baseType: '"My Schema"."Mood"',
        notNull: false,
        default: undefined,
        constraints: [{ name: "not_sad", definition: 'CHECK ((VALUE <> \'sad\'::"My Schema"."Mood"))' }]
      })
      expect(complex?._tag === "Composite" && complex.attributes.map((a) => `${a.name} ${a.typeName}`)).toEqual([
        "r double precision",
        "i double precision",
        'm "My Schema"."Mood"'
      ])
    })
  )

  it.effect("lists every leaf partition of a partitioned table, recursively", () =>
    Effect.gen(function* () {
      const t = yield* describeSourceTable(client, "public", "events")
      expect(t).toMatchObject({ relkind: "p", primaryKey: ["id", "at"], identityColumns: ["id", "at"] })
      expect(t?.partitions).toEqual([
        { schema: "public", name: "events_2024_a" },
        { schema: "public", name: "events_2024_b" },
        { schema: "public", name: "events_2025" }
      ])
    })
  )

  it.effect("reports replica identity and the identity columns", () =>
    Effect.gen(function* () {
      const rif = yield* describeSourceTable(client, "public", "rif")
      expect(rif).toMatchObject({ replicaIdentity: "f", primaryKey: [], identityColumns: [], types: [] })
      const idx = yield* describeSourceTable(client, "public", "ri_idx")
      expect(idx).toMatchObject({ replicaIdentity: "i", primaryKey: ["c"], identityColumns: ["b", "a"] })
      const nothing = yield* describeSourceTable(client, "public", "nothing")
      expect(nothing).toMatchObject({ replicaIdentity: "n", primaryKey: ["id"], identityColumns: [] })
      const nopk = yield* describeSourceTable(client, "public", "nopk")
      expect(nopk).toMatchObject({ replicaIdentity: "d", primaryKey: [], identityColumns: [] })
      const weird = yield* describeSourceTable(client, "public", 'we"ird')
      expect(weird?.columns.map((c) => c.name)).toEqual(['a"b'])
    })
  )

  it.effect("returns undefined for a missing table or a view", () =>
    Effect.gen(function* () {
      expect(yield* describeSourceTable(client, "public", "nope")).toBeUndefined()
      expect(yield* describeSourceTable(client, "public", "a_view")).toBeUndefined()
      expect(yield* describeSourceTable(client, "my schema", "Order")).toBeUndefined()
      expect(yield* describeTargetTable(client, "public", "nope")).toBeUndefined()
    })
  )

  it.effect("lists tables of all user schemas or of the given ones", () =>
    Effect.gen(function* () {
      const all = yield* listTables(client)
      const names = all.map((t) => `${t.schema}.${t.name}`)
      expect(names).toContain("My Schema.Order")
      expect(names).toContain("public.events_2024_a")
      expect(names).not.toContain("public.a_view")
      expect(names).not.toContain("public.scratch")
      expect(names.some((n) => n.startsWith("pg_catalog.") || n.startsWith("information_schema."))).toBe(false)
      expect(all.find((t) => t.name === "events")).toMatchObject({
        relkind: "p",
        isPartition: false,
        hasPrimaryKey: true
      })
      expect(all.find((t) => t.name === "events_2024")).toMatchObject({ relkind: "p", isPartition: true })
      expect(all.find((t) => t.name === "rif")).toMatchObject({ replicaIdentity: "f", hasPrimaryKey: false })
      const mine = yield* listTables(client, ["My Schema"])
      expect(mine.map((t) => t.name)).toEqual(["Order"])
    })
  )

  it.effect("describes a destination table: types, defaults, keys, sid", () =>
    Effect.gen(function* () {
      const t = yield* describeTargetTable(client, "public", "dst")
      expect(t).toMatchObject({ schema: "public", name: "dst", relkind: "r", hasSid: true, primaryKey: ["sid", "id"] })
      expect(t?.uniqueKeys).toEqual([["amount"]])
      expect(t?.columns.map((c) => [c.name, c.typeName, c.notNull, c.hasDefault, c.isGenerated])).toEqual([
        ["sid", "text", true, false, false],
        ["id", "integer", true, false, false],
        ["amount", "numeric(10,2)", false, false, false],
        ["tags", "integer[]", false, false, false],
        ["mood", "public.mood", false, false, false],
        ["note", "text", false, true, false],
        ["ident", "integer", true, true, false],
        ["gen", "integer", false, true, true]
      ])
      const order = yield* describeTargetTable(client, "My Schema", "Order")
      expect(order).toMatchObject({ hasSid: false, primaryKey: ["Id", "select"], uniqueKeys: [] })
      const parted = yield* describeTargetTable(client, "public", "events")
      expect(parted).toMatchObject({ relkind: "p", primaryKey: ["id", "at"] })
    })
  )
})
