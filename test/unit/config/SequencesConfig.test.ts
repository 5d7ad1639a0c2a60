import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { loadConfig } from "../../../src/config/ConfigLoader.js"

const zero = { SOURCE_URL: "postgres://u@src/app", TARGET_URL: "postgres://u@dst/app", TABLES: "orders" }

describe("sequences configuration", () => {
  it.effect("defaults: every 60 s, margin 1000, no extra sequences", () =>
    Effect.gen(function* () {
      const { config } = yield* loadConfig({ env: zero })
      expect(config.sequences).toEqual({ syncIntervalMs: 60_000, margin: 1000, extra: [] })
    })
  )

  it.effect("WALFERRY_SEQUENCES__* override every key", () =>
    Effect.gen(function* () {
      const env = {
        ...zero,
        WALFERRY_SEQUENCES__SYNC_INTERVAL_MS: "0",
        WALFERRY_SEQUENCES__MARGIN: "5",
        WALFERRY_SEQUENCES__EXTRA: "[public.invoice_no, billing.ticket]"
      }
      const { config } = yield* loadConfig({ env })
      expect(config.sequences).toEqual({ syncIntervalMs: 0, margin: 5, extra: ["public.invoice_no", "billing.ticket"] })
    })
  )

  it.effect("an extra sequence must be schema.sequence", () =>
    Effect.gen(function* () {
      const result = yield* Effect.either(loadConfig({ env: { ...zero, WALFERRY_SEQUENCES__EXTRA: "[invoice_no]" } }))
      if (Either.isRight(result)) throw new Error("expected a configuration error")
      expect(result.left.message).toMatch(/WALFERRY_SEQUENCES__EXTRA.*schema\.sequence/)
    })
  )
})
