import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { loadConfig } from "../../../src/config/ConfigLoader.js"

describe("slots configuration", () => {
  const env = { SOURCE_URL: "postgres://s/db", TARGET_URL: "postgres://d/dwh", TABLES: "t" }
  it.effect("a lost slot stops its source by default", () =>
    Effect.gen(function* () {
      const { config } = yield* loadConfig({ env })
      expect(config.slots).toEqual({ failover: "auto", onLost: "stop" })
    })
  )
  it.effect("on_lost: resync from the environment", () =>
    Effect.gen(function* () {
      const { config } = yield* loadConfig({ env: { ...env, WALFERRY_SLOTS__ON_LOST: "resync" } })
      expect(config.slots?.onLost).toBe("resync")
    })
  )
  it.effect("rejects an unknown on_lost naming the key and the choices", () =>
    Effect.gen(function* () {
      const e = yield* Effect.flip(loadConfig({ env: { ...env, WALFERRY_SLOTS__ON_LOST: "ignore" } }))
      expect(e.message).toMatch(/slots\.on_lost/)
      expect(e.message).toMatch(/stop, resync/)
    })
  )
})
