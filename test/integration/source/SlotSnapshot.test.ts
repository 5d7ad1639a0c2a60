import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import pg from "pg"
import * as Lsn from "../../../src/domain/Lsn.js"
import { slotName } from "../../../src/source/Naming.js"
import { createSlotWithSnapshot } from "../../../src/source/slot/SlotSnapshot.js"
import { slotStatus } from "../../../src/source/slot/SlotStatus.js"
import { assertLogical } from "../../../src/source/slot/WalLevel.js"
import { startTestPg } from "../../support/Pg.js"
import { testVersions } from "../../support/versions.js"
import { failure, open, PREFIX, useSourceServer } from "./SourceFixture.js"

describe.each(testVersions())("slot snapshot and status on Postgres %i", (version) => {
  const { pg: pgq, source, peek } = useSourceServer(version)

  it("exports a snapshot consistent with the slot's start", async () => {
    const url = await source("snapshot")
    const name = slotName(PREFIX, "snapshot", "s1")
    await pgq().query("insert into a select g, 'before' from generate_series(1, 5) g", [], "snapshot")
    const { setup, close } = await open(url, "snapshot", ["a"])
    const snapshot = setup.slot.snapshot!
    const reader = new pg.Client({ connectionString: url })
    await reader.connect()
    try {
      await pgq().query("insert into a select g, 'after' from generate_series(6, 8) g", [], "snapshot")
      await reader.query("begin isolation level repeatable read")
      await reader.query(`set transaction snapshot '${snapshot.snapshotName}'`)
      expect((await reader.query("select count(*)::int as n from a")).rows[0].n).toBe(5)
      await reader.query("commit")
    } finally {
      await close()
    }
    try {
      await reader.query("begin isolation level repeatable read")
      await expect(reader.query(`set transaction snapshot '${snapshot.snapshotName}'`)).rejects.toThrow(/snapshot/)
      await reader.query("rollback")
    } finally {
      await reader.end()
    }
    const inserts = (await peek("snapshot", name)).filter((c) => c.data[0] === 0x49)
    expect(inserts).toHaveLength(3)
    for (const i of inserts) expect(Lsn.parse(i.lsn) >= snapshot.consistentPoint).toBe(true)
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      const status = await Effect.runPromise(slotStatus(client, name))
      expect(status).toMatchObject({ exists: true, active: false, activePid: undefined, plugin: "pgoutput" })
      expect(status.confirmedFlushLsn).toBe(snapshot.consistentPoint)
      expect(status.walStatus).toBe("reserved")
      expect(status.retainedBytes! > 0n).toBe(true)
      expect(status.safeWalSize).toBeUndefined()
      expect(status.invalidationReason).toBeUndefined()
      expect(await Effect.runPromise(slotStatus(client, "no_such_slot"))).toMatchObject({ exists: false })
    } finally {
      await client.end()
    }
  })

  it("creates a slot with a snapshot directly, and fails typed on a duplicate name", async () => {
    const url = await source("direct")
    const created = await Effect.runPromise(createSlotWithSnapshot({ connectionString: url }, "direct_slot"))
    try {
      expect(created.slotName).toBe("direct_slot")
      expect(created.consistentPoint > 0n).toBe(true)
      const again = await Effect.runPromise(
        Effect.flip(createSlotWithSnapshot({ connectionString: url }, "direct_slot"))
      )
      expect(again).toMatchObject({ _tag: "SlotCreateFailed", slot: "direct_slot" })
      expect(again.message).toContain("already exists")
    } finally {
      await Effect.runPromise(created.release)
      await Effect.runPromise(created.release)
      await pgq().query("select pg_drop_replication_slot('direct_slot')", [], "direct")
    }
    const client = new pg.Client({ connectionString: url })
    await client.connect()
    try {
      await Effect.runPromise(assertLogical(client))
    } finally {
      await client.end()
    }
  })

  it("reports an unreachable source without leaking the password", async () => {
    const error = await failure("postgres://postgres:s3cret-pw@127.0.0.1:1/nowhere", "down", ["a"])
    expect(error).toMatchObject({ _tag: "SourceUnreachable", database: "down", target: "127.0.0.1:1/nowhere" })
    expect(JSON.stringify(error)).not.toContain("s3cret")
    expect(error.message).not.toContain("s3cret")
  })
})

describe.each(testVersions())("wal level check on Postgres %i", (version) => {
  it("fails with WalLevelNotLogical on a wal_level=replica server", async () => {
    const server = await startTestPg({ version, walLevel: "replica" })
    try {
      const error = await failure(server.url(), "replica", ["a"])
      expect(error).toMatchObject({ _tag: "WalLevelNotLogical", walLevel: "replica", database: "replica" })
      expect(error.message).toContain("wal_level=logical")
    } finally {
      await server.stop()
    }
  })
})
