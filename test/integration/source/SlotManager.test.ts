import { describe, expect, it } from "@effect/vitest"
import pg from "pg"
import { slotName } from "../../../src/source/Naming.js"
import { testVersions } from "../../support/versions.js"
import { failure, names, open, prepare, PREFIX, useSourceServer } from "./SourceFixture.js"

describe.each(testVersions())("slot and publication manager on Postgres %i", (version) => {
  const { pg: pgq, source, published, slots, peek } = useSourceServer(version)

  it("creates publication and slot on a fresh source", async () => {
    const url = await source("fresh")
    const name = slotName(PREFIX, "fresh", "s1")
    const { setup, close } = await open(url, "fresh", ["a", "b", "events"])
    try {
      expect(setup.slot).toMatchObject({ name: "walferry_fresh_s1", created: true, replacedBecause: undefined })
      expect(setup.slot.snapshot?.snapshotName).toMatch(/^[0-9A-F-]+$/)
      expect(setup.publication).toMatchObject({ name, created: true, removed: [], optionsRepaired: false })
      expect(names(setup.needsCopy)).toEqual(["a", "b", "events"])
      expect(await published("fresh", name)).toEqual(["a", "b", "events"])
      const [db] = await pgq().query<{ db: string }>("select current_database() as db", [], "fresh")
      expect(await slots("fresh", name)).toEqual([
        { slot_name: name, plugin: "pgoutput", slot_type: "logical", database: db!.db }
      ])
      const [pub] = await pgq().query(
        "select pubviaroot, pubtruncate from pg_publication where pubname = $1",
        [name],
        "fresh"
      )
      expect(pub).toEqual({ pubviaroot: true, pubtruncate: true })
    } finally {
      await close()
    }
  })

  it("adds and drops tables on restart and reports the added ones", async () => {
    const url = await source("restart")
    const name = slotName(PREFIX, "restart", "s1")
    await prepare(url, "restart", ["a", "b"])
    const setup = await prepare(url, "restart", ["b", "c"])
    expect(setup.slot).toMatchObject({ created: false, snapshot: undefined })
    expect(setup.publication).toMatchObject({ created: false, removed: ["public.a"] })
    expect(names(setup.publication.added)).toEqual(["c"])
    expect(names(setup.needsCopy)).toEqual(["c"])
    expect(await published("restart", name)).toEqual(["b", "c"])
    const again = await prepare(url, "restart", ["b", "c"])
    expect(again.needsCopy).toEqual([])
  })

  it("repairs publish_via_partition_root = false on an existing publication", async () => {
    const url = await source("viaroot")
    const name = slotName(PREFIX, "viaroot", "s1")
    await prepare(url, "viaroot", ["events"])
    await pgq().query(
      `alter publication ${name} set (publish_via_partition_root = false, publish = 'insert')`,
      [],
      "viaroot"
    )
    const setup = await prepare(url, "viaroot", ["events"])
    expect(setup.publication).toMatchObject({ optionsRepaired: true, added: [] })
    const [pub] = await pgq().query(
      "select pubviaroot, pubdelete from pg_publication where pubname = $1",
      [name],
      "viaroot"
    )
    expect(pub).toEqual({ pubviaroot: true, pubdelete: true })
  })

  it("publishes a partitioned parent via its root", async () => {
    const url = await source("partitions")
    const name = slotName(PREFIX, "partitions", "s1")
    await prepare(url, "partitions", ["events"])
    await pgq().query("insert into events values (1, '2024-06-01'), (2, '2025-06-01')", [], "partitions")
    const changes = await peek("partitions", name)
    const [parent] = await pgq().query<{ oid: number }>("select 'events'::regclass::oid as oid", [], "partitions")
    const relationNamed = (relname: string) =>
      changes.find((c) => c.data[0] === 0x52 && c.data.includes(Buffer.from(`public\0${relname}\0`)))
    expect(relationNamed("events")?.data.readUInt32BE(1)).toBe(parent!.oid)
    // the partition's own Relation message follows the parent's, but every row is published as the parent
    const inserts = changes.filter((c) => c.data[0] === 0x49)
    expect(inserts.map((i) => i.data.readUInt32BE(1))).toEqual([parent!.oid, parent!.oid])
  })

  it("drops and recreates a slot whose publication is gone", async () => {
    const url = await source("orphan")
    const name = slotName(PREFIX, "orphan", "s1")
    await prepare(url, "orphan", ["a"])
    await pgq().query(`drop publication ${name}`, [], "orphan")
    await pgq().query("insert into a values (1, 'while the publication was missing')", [], "orphan")
    const setup = await prepare(url, "orphan", ["a"])
    expect(setup.publication.created).toBe(true)
    expect(setup.slot.created).toBe(true)
    expect(setup.slot.replacedBecause).toContain("was missing")
    expect(names(setup.needsCopy)).toEqual(["a"])
    await pgq().query("insert into a values (2, 'after')", [], "orphan")
    expect((await peek("orphan", name)).filter((c) => c.data[0] === 0x49)).toHaveLength(1)
  })

  it("creates a missing slot next to an existing publication", async () => {
    const url = await source("noslot")
    const name = slotName(PREFIX, "noslot", "s1")
    await prepare(url, "noslot", ["a", "b"])
    await pgq().query("select pg_drop_replication_slot($1)", [name], "noslot")
    const setup = await prepare(url, "noslot", ["a", "b"])
    expect(setup.slot).toMatchObject({ created: true, replacedBecause: undefined })
    expect(setup.publication).toMatchObject({ created: false, added: [], removed: [] })
    expect(names(setup.needsCopy)).toEqual(["a", "b"])
    expect(await slots("noslot", name)).toHaveLength(1)
  })

  it("refuses a slot another consumer is streaming from", async () => {
    const url = await source("inuse")
    const name = slotName(PREFIX, "inuse", "s1")
    await prepare(url, "inuse", ["a"])
    const consumer = new pg.Client({ connectionString: url, replication: "database" } as pg.ClientConfig)
    consumer.on("error", () => undefined)
    await consumer.connect()
    try {
      consumer
        .query(`START_REPLICATION SLOT ${name} LOGICAL 0/0 (proto_version '1', publication_names '${name}')`)
        .catch(() => undefined)
      const deadline = Date.now() + 10_000
      while (
        !(await pgq().query("select active from pg_replication_slots where slot_name = $1", [name], "inuse"))[0]?.active
      ) {
        if (Date.now() > deadline) throw new Error("consumer never became active")
        await new Promise((r) => setTimeout(r, 50))
      }
      const error = await failure(url, "inuse", ["a", "b"])
      expect(error).toMatchObject({ _tag: "SlotInUse", slot: name, database: "inuse", sid: "s1" })
      expect(error._tag === "SlotInUse" && error.activePid).toBe(
        (consumer as unknown as { processID: number }).processID
      )
      expect(error.message).toContain(name)
      expect(await published("inuse", name)).toEqual(["a"])
    } finally {
      await consumer.end().catch(() => undefined)
    }
  })

  it("refuses a slot of the wrong kind", async () => {
    const url = await source("wrongkind")
    const name = slotName(PREFIX, "wrongkind", "s1")
    await pgq().query("select pg_create_physical_replication_slot($1)", [name], "wrongkind")
    try {
      const error = await failure(url, "wrongkind", ["a"])
      expect(error).toMatchObject({ _tag: "SlotInvalid", slot: name })
      expect(error.message).toContain("physical")
      expect(error.message).toContain("pg_drop_replication_slot")
    } finally {
      await pgq().query("select pg_drop_replication_slot($1)", [name], "wrongkind")
    }
  })

  it("names a mapped table that is missing on the source and changes nothing", async () => {
    const url = await source("missing")
    const name = slotName(PREFIX, "missing", "s1")
    const error = await failure(url, "missing", ["a", "nope"])
    expect(error).toMatchObject({ _tag: "SourceTableMissing", table: "public.nope", reason: "does not exist" })
    expect(await pgq().query("select 1 from pg_publication where pubname = $1", [name], "missing")).toEqual([])
    expect(await slots("missing", name)).toEqual([])
  })
})
