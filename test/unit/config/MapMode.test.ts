/** map_mode (yaml | database) and api.cors_origins: defaults, the database mode without a map, errors naming the key. */
import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { loadConfig } from "../../../src/config/ConfigLoader.js"
import { inlineMap, loadFailure, walferryYaml, writeFiles } from "./fixtures.js"

describe("ConfigLoader: map_mode and CORS origins", () => {
  it.effect("defaults to yaml (read-only mapping) and no CORS origin", () =>
    Effect.gen(function* () {
      const { config } = yield* loadConfig({ file: writeFiles({ "c.yaml": walferryYaml(inlineMap("t:")) }), env: {} })
      expect(config.mapMode).toBeUndefined()
      expect(config.mapReadOnly).toBe(true)
      expect(config.api.corsOrigins).toBeUndefined()
    })
  )

  it.effect("map_mode: database needs no map: it starts empty and is writable", () =>
    Effect.gen(function* () {
      const yaml = walferryYaml("map_mode: database\nauto_create: false\napi: { cors_origins: [https://c.example] }\n")
      const { config } = yield* loadConfig({ file: writeFiles({ "c.yaml": yaml }), env: {} })
      expect(config).toMatchObject({ mapMode: "database", mapReadOnly: false, sources: [] })
      expect(config.tableDefaults).toEqual({ autoCreate: false, firstVersionStart: "commit", addPositionColumn: true })
      expect(config.api.corsOrigins).toEqual(["https://c.example"])
    })
  )

  it.effect("WALFERRY_MAP_MODE overrides the file", () =>
    Effect.gen(function* () {
      const file = writeFiles({ "c.yaml": walferryYaml("") })
      const { config } = yield* loadConfig({ file, env: { WALFERRY_MAP_MODE: "database" } })
      expect(config.mapMode).toBe("database")
    })
  )

  it.effect("rejects a map with map_mode: database, and an unknown mode, naming the key", () =>
    Effect.gen(function* () {
      const both = yield* loadFailure({
        file: writeFiles({ "c.yaml": walferryYaml(`map_mode: database\n${inlineMap("t:")}`) })
      })
      expect(both.path).toBe("map")
      expect(both.message).toContain("must not be set with map_mode: database")
      const bad = yield* loadFailure({
        file: writeFiles({ "c.yaml": walferryYaml(`map_mode: sqlite\n${inlineMap("t:")}`) })
      })
      expect(bad.message).toContain('map_mode: expected one of yaml, database, got "sqlite"')
    })
  )
})
