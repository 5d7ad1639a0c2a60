import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { PgOutputDecoder, type PgOutputMessage } from "../../../src/decode/PgOutputDecoder.js"
import { RelationCache } from "../../../src/decode/RelationCache.js"
import * as Lsn from "../../../src/domain/Lsn.js"
import { startTestPg, type TestPg } from "../../support/Pg.js"
import { testVersions } from "../../support/versions.js"

type Msg<T extends PgOutputMessage["_tag"]> = Extract<PgOutputMessage, { _tag: T }>

const only = <T extends PgOutputMessage["_tag"]>(msgs: ReadonlyArray<PgOutputMessage>, tag: T): Array<Msg<T>> =>
  msgs.filter((m): m is Msg<T> => m._tag === tag)

/** an update or delete as its decoded values (the decoder keeps their tuples as bytes until read) */
const rowView = (m: PgOutputMessage) =>
  m._tag === "Update" || m._tag === "Delete"
    ? {
        _tag: m._tag,
        xid: m.xid,
        relationOid: m.relationOid,
        oldKind: m.oldKind,
        oldTuple: m.oldTuple,
        ...(m._tag === "Update" ? { newTuple: m.newTuple } : {})
      }
    : m

const tags = (msgs: ReadonlyArray<PgOutputMessage>): string => msgs.map((m) => m._tag).join(",")

/** every row message refers to an announced relation with matching tuple widths; transactions are well formed */
const checkStream = (msgs: ReadonlyArray<PgOutputMessage>): void => {
  const cache = new RelationCache()
  let open: Msg<"Begin"> | null = null
  for (const m of msgs) {
    if (m._tag === "Relation") cache.set(m.relation)
    if (m._tag === "Begin") open = m
    if (m._tag === "Commit") {
      expect(open).not.toBeNull()
      expect(m.commitLsn).toBe(open!.finalLsn)
      expect(m.endLsn).toBeGreaterThan(m.commitLsn)
      expect(m.commitTimeUs).toBe(open!.commitTimeUs)
      open = null
    }
    if (m._tag === "Insert" || m._tag === "Update" || m._tag === "Delete") {
      const width = cache.get(m.relationOid)?.columns.length
      expect(width).toBeDefined()
      if (m._tag !== "Delete") expect(m.newTuple.length).toBe(width)
      if (m._tag !== "Insert" && m.oldTuple !== null) expect(m.oldTuple.length).toBe(width)
    }
  }
  expect(open).toBeNull()
}

for (const version of testVersions()) {
  describe(`pgoutput from real Postgres ${version}`, () => {
    let pg: TestPg
    let slots = 0
    const db = "pgoutput_decode"
    const q = (sql: string, params: ReadonlyArray<unknown> = []) => pg.query(sql, params, db)
    const oidOf = async (name: string): Promise<number> =>
      Number((await q(`select $1::regclass::oid as oid`, [name]))[0].oid)

    const capture = async (statements: ReadonlyArray<string | [string, ReadonlyArray<unknown>]>) => {
      const slot = `decode_${++slots}`
      await q(`select pg_create_logical_replication_slot($1, 'pgoutput')`, [slot])
      try {
        for (const s of statements) await (typeof s === "string" ? q(s) : q(s[0], s[1]))
        const messages = version >= 14 ? ", 'messages', 'true'" : ""
        const rows = await q(
          `select data from pg_logical_slot_get_binary_changes($1, NULL, NULL,
             'proto_version', '1', 'publication_names', 'p'${messages})`,
          [slot]
        )
        const decoder = new PgOutputDecoder()
        const msgs = rows.map((r: { data: Buffer }) => decoder.decode(r.data))
        checkStream(msgs)
        return msgs
      } finally {
        await q(`select pg_drop_replication_slot($1)`, [slot])
      }
    }

    beforeAll(async () => {
      pg = await startTestPg({ version })
      await pg.createDatabase(db)
      await q(`create publication p for all tables with (publish_via_partition_root = true)`)
    })
    afterAll(async () => {
      await pg?.stop()
    })

    it("insert, non-key update, key update and delete on a primary-key table", async () => {
      await q(`create table t_pk (id int primary key, name text, n int)`)
      const lsnBefore = Lsn.parse((await q(`select pg_current_wal_lsn()::text as l`))[0].l)
      const [{ txid }] = await q(`insert into t_pk values (1, 'a', 10) returning txid_current()::text as txid`)
      const msgs = await capture([
        `update t_pk set name = 'b' where id = 1`,
        `update t_pk set id = 2 where id = 1`,
        `delete from t_pk where id = 2`
      ])
      const lsnAfter = Lsn.parse((await q(`select pg_current_wal_lsn()::text as l`))[0].l)
      expect(tags(msgs)).toBe("Begin,Relation,Update,Commit,Begin,Update,Commit,Begin,Delete,Commit")
      const oid = await oidOf("t_pk")
      expect(only(msgs, "Relation")[0]!.relation).toEqual({
        oid,
        schema: "public",
        name: "t_pk",
        replicaIdentity: "d",
        columns: [
          { name: "id", typeOid: 23, typeMod: -1, isKey: true },
          { name: "name", typeOid: 25, typeMod: -1, isKey: false },
          { name: "n", typeOid: 23, typeMod: -1, isKey: false }
        ]
      })
      const [u1, u2] = only(msgs, "Update")
      expect(rowView(u1!)).toEqual({
        _tag: "Update",
        xid: null,
        relationOid: oid,
        oldKind: null,
        oldTuple: null,
        newTuple: ["1", "b", "10"]
      })
      expect(rowView(u2!)).toMatchObject({ oldKind: "K", oldTuple: ["1", null, null], newTuple: ["2", "b", "10"] })
      expect(rowView(only(msgs, "Delete")[0]!)).toEqual({
        _tag: "Delete",
        xid: null,
        relationOid: oid,
        oldKind: "K",
        oldTuple: ["2", null, null]
      })
      const begins = only(msgs, "Begin")
      expect(begins[0]!.xid).toBe(Number((BigInt(txid) + 1n) & 0xffffffffn))
      expect(begins[0]!.finalLsn).toBeGreaterThan(lsnBefore)
      expect(only(msgs, "Commit")[2]!.endLsn).toBeLessThanOrEqual(lsnAfter)
      const nowUs = BigInt(Date.now()) * 1000n
      for (const b of begins) expect(Number(nowUs - b.commitTimeUs)).toBeLessThan(60_000_000)
      for (const b of begins) expect(Number(nowUs - b.commitTimeUs)).toBeGreaterThan(-5_000_000)
    })

    it("REPLICA IDENTITY FULL sends full old tuples with NULLs", async () => {
      await q(`create table t_full (id int, a text, b int)`)
      await q(`alter table t_full replica identity full`)
      const msgs = await capture([
        `insert into t_full values (1, null, 5)`,
        `update t_full set a = 'x' where id = 1`,
        `delete from t_full where id = 1`
      ])
      const rel = only(msgs, "Relation")[0]!.relation
      expect(rel.replicaIdentity).toBe("f")
      expect(rel.columns.map((c) => c.isKey)).toEqual([true, true, true])
      expect(only(msgs, "Insert")[0]!.newTuple).toEqual(["1", null, "5"])
      expect(rowView(only(msgs, "Update")[0]!)).toMatchObject({
        oldKind: "O",
        oldTuple: ["1", null, "5"],
        newTuple: ["1", "x", "5"]
      })
      expect(rowView(only(msgs, "Delete")[0]!)).toMatchObject({ oldKind: "O", oldTuple: ["1", "x", "5"] })
    })

    it("an unchanged TOASTed value decodes as undefined", async () => {
      await q(`create table t_toast (id int primary key, big text, small int)`)
      const msgs = await capture([
        `insert into t_toast select 1, string_agg(md5(random()::text), '') from generate_series(1, 625)`,
        `update t_toast set small = 1 where id = 1`
      ])
      const [{ big }] = await q(`select big from t_toast where id = 1`)
      expect(big).toHaveLength(20_000)
      expect(only(msgs, "Insert")[0]!.newTuple).toEqual(["1", big, null])
      const update = only(msgs, "Update")[0]!
      expect(update.newTuple).toEqual(["1", undefined, "1"])
      expect(1 in update.newTuple).toBe(true)
    })

    it("truncate with and without CASCADE / RESTART IDENTITY", async () => {
      await q(`create table t_parent (id serial primary key)`)
      await q(`create table t_child (id int primary key, p int references t_parent (id))`)
      const msgs = await capture([`truncate t_parent restart identity cascade`, `truncate t_child`])
      const [parent, child] = [await oidOf("t_parent"), await oidOf("t_child")]
      const [t1, t2] = only(msgs, "Truncate")
      expect(t1).toMatchObject({ cascade: true, restartIdentity: true })
      expect([...t1!.relationOids].sort()).toEqual([parent, child].sort())
      expect(t2).toEqual({ _tag: "Truncate", xid: null, cascade: false, restartIdentity: false, relationOids: [child] })
    })

    it("an enum column is announced by a Type message", async () => {
      await q(`create type mood as enum ('sad', 'happy')`)
      await q(`create table t_enum (id int primary key, m mood)`)
      const msgs = await capture([`insert into t_enum values (1, 'happy')`])
      const typeOid = Number((await q(`select 'mood'::regtype::oid as oid`))[0].oid)
      expect(tags(msgs)).toBe("Begin,Type,Relation,Insert,Commit")
      expect(only(msgs, "Type")[0]).toEqual({ _tag: "Type", xid: null, typeOid, schema: "public", name: "mood" })
      expect(only(msgs, "Relation")[0]!.relation.columns[1]).toEqual({ name: "m", typeOid, typeMod: -1, isKey: false })
      expect(only(msgs, "Insert")[0]!.newTuple).toEqual(["1", "happy"])
    })

    it("mixed-case and reserved-word schema, table and column names", async () => {
      await q(`create schema "Order"`)
      await q(`create table "Order"."Select" ("From" int primary key, "group" text, "MixedCase" varchar(12))`)
      const msgs = await capture([`insert into "Order"."Select" values (1, 'g', 'M')`])
      const rel = only(msgs, "Relation")[0]!.relation
      expect([rel.oid, rel.schema, rel.name]).toEqual([await oidOf(`"Order"."Select"`), "Order", "Select"])
      expect(rel.columns.map((c) => [c.name, c.typeMod])).toEqual([
        ["From", -1],
        ["group", -1],
        ["MixedCase", 16]
      ])
    })

    it("a partitioned table published via its root", async () => {
      await q(`create table t_part (id int, region text, primary key (id, region)) partition by list (region)`)
      await q(`create table t_part_eu partition of t_part for values in ('eu')`)
      await q(`create table t_part_us partition of t_part for values in ('us')`)
      const msgs = await capture([`insert into t_part values (1, 'eu'), (2, 'us')`])
      const root = await oidOf("t_part")
      const partitions = [await oidOf("t_part_eu"), await oidOf("t_part_us")]
      const relations = only(msgs, "Relation").map((r) => r.relation)
      // PG15+ also announce the leaf partition after its root; rows always reference the root
      expect([relations[0]!.oid, relations[0]!.name]).toEqual([root, "t_part"])
      for (const r of relations) expect([root, ...partitions]).toContain(r.oid)
      expect(only(msgs, "Insert").map((i) => [i.relationOid, ...i.newTuple])).toEqual([
        [root, "1", "eu"],
        [root, "2", "us"]
      ])
    })

    it("text with quotes, backslashes, control characters and emoji round-trips exactly", async () => {
      await q(`create table t_text (id int primary key, s text, e text)`)
      const tricky = `it's "quoted" \\ back\\slash \t tab \n newline \r cr 😀 𝄞 日本 \\x00`
      const msgs = await capture([
        [`insert into t_text values (1, $1, '')`, [tricky]],
        `insert into t_text values (2, null, null)`
      ])
      expect(only(msgs, "Insert").map((i) => i.newTuple)).toEqual([
        ["1", tricky, ""],
        ["2", null, null]
      ])
    })

    it.skipIf(version < 14)("logical messages (transactional and not)", async () => {
      // the transactional message's commit flushes the WAL holding the non-transactional one before it
      const msgs = await capture([
        `select pg_logical_emit_message(false, 'nt', convert_to('día 😀', 'UTF8'))`,
        `select pg_logical_emit_message(true, 'prefix', 'content')`
      ])
      expect(tags(msgs)).toBe("Message,Begin,Message,Commit")
      const [m1, m2] = only(msgs, "Message")
      expect(m1).toMatchObject({ xid: null, transactional: false, prefix: "nt", content: Buffer.from("día 😀") })
      expect(m2).toMatchObject({ xid: null, transactional: true, prefix: "prefix", content: Buffer.from("content") })
      expect(m1!.lsn).toBeGreaterThan(0n)
      expect(m2!.lsn).toBeGreaterThan(m1!.lsn)
    })
  })
}
