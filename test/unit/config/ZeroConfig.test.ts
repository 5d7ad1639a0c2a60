import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { databaseOfUrl, loadConfig, NO_CONFIG_MESSAGE } from "../../../src/config/ConfigLoader.js"
import { DEST_URL, loadFailure, SOURCE_URL } from "./fixtures.js"

describe("databaseOfUrl", () => {
  it.each([
    ["postgres://u:p@h:5432/shop?sslmode=require", "shop"],
    ["postgres://u:p/x@h/my%20db", "my db"],
    ["postgres://h:5432", undefined],
    ["host=h dbname=shop user=u", "shop"],
    ["host=h dbname='my db'", "my db"],
    ["host=h", undefined]
  ])("%s → %s", (url, db) => {
    expect(databaseOfUrl(url)).toBe(db)
  })
})

describe("ConfigLoader: zero-config environment", () => {
  const env = { SOURCE_URL, TARGET_URL: DEST_URL, TABLES: "orders, inventory.items" }

  it.effect("builds one group from SOURCE_URL, TARGET_URL, TABLES", () =>
    Effect.gen(function* () {
      const { config } = yield* loadConfig({ env })
      expect(config.origin).toBe("environment")
      expect(config.mapReadOnly).toBe(false)
      expect(Redacted.value(config.destination.url)).toBe(DEST_URL)
      const [group] = config.sources
      expect(group!.database).toBe("shop")
      expect(group!.urls.map((u) => [Redacted.value(u.url), u.sid])).toEqual([[SOURCE_URL, ""]])
      expect(group!.tables.map((t) => [t.schema, t.name, t.mode, t.target])).toEqual([
        ["public", "orders", "clone", "orders"],
        ["inventory", "items", "clone", "items"]
      ])
      const named = yield* loadConfig({ env: { ...env, SOURCE_SID: "eu", SOURCE_DATABASE: "webshop" } })
      expect(named.config.sources[0]!.database).toBe("webshop")
      expect(named.config.sources[0]!.urls[0]!.sid).toBe("eu")
      const tuned = yield* loadConfig({ env: { ...env, WALFERRY_TUNING__WRITERS: "8" } })
      expect(tuned.config.tuning.writers).toBe(8)
    })
  )

  it.effect("names what is missing", () =>
    Effect.gen(function* () {
      const e = yield* loadFailure({ env: { SOURCE_URL } })
      expect(e.file).toBe("environment")
      expect(e.path).toBe("TARGET_URL")
      expect(e.detail).toMatch(/missing: TARGET_URL, TABLES/)
      const noDb = yield* loadFailure({ env: { ...env, SOURCE_URL: "postgres://repl@src:5432" } })
      expect(noDb.path).toBe("SOURCE_DATABASE")
      const badTable = yield* loadFailure({ env: { ...env, TABLES: "a.b.c" } })
      expect(badTable.message).toMatch(/^environment: TABLES \(map\[0\]\.tables\["a\.b\.c"\]\): expected a table key/)
    })
  )

  it.effect("with neither a file nor zero-config env, explains both ways", () =>
    Effect.gen(function* () {
      const e = yield* loadFailure({ env: { HOME: "/root", WALFERRY_TEST_PG_URL: "postgres://x@y/z" } })
      expect(e.file).toBe("environment")
      expect(e.path).toBe("")
      expect(e.detail).toBe(NO_CONFIG_MESSAGE)
      expect(e.message).toMatch(/--config FILE.*SOURCE_URL, TARGET_URL and TABLES/)
    })
  )
})
