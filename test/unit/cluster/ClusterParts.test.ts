import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { singletonName } from "../../../src/cluster/SourcePlacement.js"
import { sourceLockKey } from "../../../src/cluster/SourceLockKey.js"
import { loadConfig } from "../../../src/config/ConfigLoader.js"
import { expandHosts } from "../../../src/source/SourceHosts.js"

describe("multi-host source URLs", () => {
  it("expands a URL with several hosts into one URL per host, dropping target_session_attrs", () => {
    expect(expandHosts("postgres://u:p@a:5432,b:5433/db?target_session_attrs=read-write&sslmode=disable")).toEqual([
      "postgres://u:p@a:5432/db?sslmode=disable",
      "postgres://u:p@b:5433/db?sslmode=disable"
    ])
    expect(expandHosts("postgresql://a,b/db?target_session_attrs=read-write")).toEqual([
      "postgresql://a/db",
      "postgresql://b/db"
    ])
  })
  it("expands a key=value DSN, pairing ports with hosts", () => {
    expect(expandHosts("host=a,b port=5432,5433 dbname=db user=u target_session_attrs=read-write")).toEqual([
      "host=a port=5432 dbname=db user=u",
      "host=b port=5433 dbname=db user=u"
    ])
    expect(expandHosts("host=a,b dbname=db")).toEqual(["host=a dbname=db", "host=b dbname=db"])
  })
  it("leaves single-host URLs alone", () => {
    expect(expandHosts("postgres://u@a:5432/db")).toEqual(["postgres://u@a:5432/db"])
    expect(expandHosts("host=a dbname=db")).toEqual(["host=a dbname=db"])
  })
})

describe("source placement", () => {
  it("gives every source its own shard while there are free shards", () => {
    const shards = 6
    const shardOf = (name: string) => {
      let h = 0
      for (let i = 0; i < name.length; i++) h = (h * 31 + name.charCodeAt(i)) | 0
      return (Math.abs(h) % shards) + 1
    }
    const used = new Set<number>()
    const names = ["s1", "s2", "s3", "s4", "s5", "s6"].map((s) => singletonName(`shop/${s}`, used, shardOf))
    expect(new Set(names.map(shardOf)).size).toBe(shards)
    expect(names[0]).toMatch(/^walferry\/source\/shop\/s1(#\d+)?$/)
    // deterministic: the same configuration gives the same names on every runner
    const again = new Set<number>()
    expect(["s1", "s2", "s3", "s4", "s5", "s6"].map((s) => singletonName(`shop/${s}`, again, shardOf))).toEqual(names)
  })
  it("source lock keys are non-negative 31-bit integers and differ between sources", () => {
    const keys = ["shop/s1", "shop/s2", "billing/tenant_a"].map(sourceLockKey)
    for (const k of keys) expect(k >= 0 && k <= 0x7fffffff && Number.isInteger(k)).toBe(true)
    expect(new Set(keys).size).toBe(keys.length)
  })
})

describe("cluster configuration", () => {
  const env = { SOURCE_URL: "postgres://s/db", TARGET_URL: "postgres://d/dwh", TABLES: "t" }
  it.effect("is off by default", () =>
    Effect.gen(function* () {
      const { config } = yield* loadConfig({ env })
      expect(config.cluster?.enabled).toBe(false)
      expect(config.slots?.failover).toBe("auto")
    })
  )
  it.effect("is set from the environment; storage defaults to the destination", () =>
    Effect.gen(function* () {
      const { config } = yield* loadConfig({
        env: {
          ...env,
          WALFERRY_CLUSTER__ENABLED: "true",
          WALFERRY_CLUSTER__RUNNER_ADDRESS: "10.0.0.5:4000",
          WALFERRY_CLUSTER__LISTEN: ":4000",
          WALFERRY_SLOTS__FAILOVER: "off"
        }
      })
      const c = config.cluster!
      expect([c.enabled, c.runnerHost, c.runnerPort, c.listenHost, c.listenPort]).toEqual([
        true,
        "10.0.0.5",
        4000,
        "0.0.0.0",
        4000
      ])
      expect(Redacted.value(c.storageUrl)).toBe("postgres://d/dwh")
      expect([c.shardLockRefreshMs, c.shardLockExpirationMs, c.assignmentRefreshMs, c.shards]).toEqual([
        2000,
        6000,
        250,
        undefined
      ])
      expect(config.slots?.failover).toBe("off")
    })
  )
  it.effect("rejects a bad runner address naming the key", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(loadConfig({ env: { ...env, WALFERRY_CLUSTER__RUNNER_ADDRESS: "nope" } }))
      expect(e.message).toMatch(/cluster\.runner_address/)
    })
  )
})
