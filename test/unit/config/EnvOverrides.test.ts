import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import { loadConfig } from "../../../src/config/ConfigLoader.js"
import { envVarName } from "../../../src/config/EnvOverrides.js"
import { DEST_URL, inlineMap, loadFailure, SOURCE_URL, walferryYaml, writeFiles } from "./fixtures.js"

const configFile = () =>
  writeFiles({ "walferry.yaml": walferryYaml(`tuning: { batch_size: 100 }\n${inlineMap("t:")}`) })

describe("EnvOverrides", () => {
  it("names variables with double underscores between segments", () => {
    expect(envVarName(["tuning", "batch_size"])).toBe("WALFERRY_TUNING__BATCH_SIZE")
    expect(envVarName(["map_file"])).toBe("WALFERRY_MAP_FILE")
  })

  it.effect("overrides keys, including keys with underscores, with YAML scalars", () =>
    Effect.gen(function* () {
      const other = "postgres://other:pw2@dwh2:5433/wh?sslmode=require"
      const { config } = yield* loadConfig({
        file: configFile(),
        env: {
          WALFERRY_TUNING__BATCH_SIZE: "500",
          WALFERRY_TUNING__SYNC_RATE_ROWS: "2500.5",
          WALFERRY_TUNING__COMMIT_INTERVAL_MS: "0",
          WALFERRY_DESTINATION__URL: other,
          WALFERRY_DESTINATION__SCHEMA: "123",
          WALFERRY_API__ENABLED: "false",
          WALFERRY_API__TOKEN: "0042",
          WALFERRY_LOG__LEVEL: "debug",
          WALFERRY_NAMING__PREFIX: "wf",
          WALFERRY_DEFAULT_SCHEMA: "app",
          WALFERRY_LOG__FORMAT: "",
          PATH: "/usr/bin"
        }
      })
      expect(config.tuning.batchSize).toBe(500)
      expect(config.tuning.syncRateRows).toBe(2500.5)
      expect(config.tuning.commitIntervalMs).toBe(0)
      expect(Redacted.value(config.destination.url)).toBe(other)
      expect(config.destination.schema).toBe("123")
      expect(config.api.enabled).toBe(false)
      expect(Redacted.value(config.api.token!)).toBe("0042")
      expect(config.log).toEqual({ level: "debug", format: "logfmt" })
      expect(config.naming.prefix).toBe("wf")
      expect(config.sources[0]!.tables[0]!.schema).toBe("app")
    })
  )

  it.effect("a null value restores the default", () =>
    Effect.gen(function* () {
      const file = writeFiles({ "c.yaml": walferryYaml(`tuning: { sync_rate_rows: 10 }\n${inlineMap("t:")}`) })
      const { config } = yield* loadConfig({ file, env: { WALFERRY_TUNING__SYNC_RATE_ROWS: "~" } })
      expect(config.tuning.syncRateRows).toBeUndefined()
    })
  )

  it.effect("a bad value names the variable and the key", () =>
    Effect.gen(function* () {
      const e = yield* loadFailure({ file: configFile(), env: { WALFERRY_TUNING__BATCH_SIZE: "lots" } })
      expect(e.file).toBe("environment")
      expect(e.path).toBe("WALFERRY_TUNING__BATCH_SIZE (tuning.batch_size)")
      expect(e.message).toBe(
        'environment: WALFERRY_TUNING__BATCH_SIZE (tuning.batch_size): expected a positive integer, got "lots"'
      )
      const bool = yield* loadFailure({ file: configFile(), env: { WALFERRY_API__ENABLED: "yes" } })
      expect(bool.detail).toBe('expected true or false, got "yes"')
    })
  )

  it.effect("a variable naming no key is an error; test-harness variables are not", () =>
    Effect.gen(function* () {
      const e = yield* loadFailure({ file: configFile(), env: { WALFERRY_TUNING__BATCHSIZE: "5" } })
      expect(e.path).toBe("WALFERRY_TUNING__BATCHSIZE")
      expect(e.detail).toMatch(
        /^no such setting under tuning \(known: WALFERRY_TUNING__WRITERS, WALFERRY_TUNING__BATCH_SIZE/
      )
      const single = yield* loadFailure({ file: configFile(), env: { WALFERRY_TUNING_BATCH_SIZE: "5" } })
      expect(single.path).toBe("WALFERRY_TUNING_BATCH_SIZE")
      const section = yield* loadFailure({ file: configFile(), env: { WALFERRY_LOG: "debug" } })
      expect(section.detail).toMatch(
        /names a section; set its keys instead \(WALFERRY_LOG__LEVEL, WALFERRY_LOG__FORMAT\)/
      )
      const deep = yield* loadFailure({ file: configFile(), env: { WALFERRY_LOG__LEVEL__X: "debug" } })
      expect(deep.detail).toBe("log.level has no sub-keys")
      const { config } = yield* loadConfig({
        file: configFile(),
        env: { WALFERRY_TEST_PG_URL: "postgres://x@y/z", WALFERRY_PG_VERSIONS: "13,17" }
      })
      expect(config.tuning.batchSize).toBe(100)
    })
  )

  it.effect("map_file from the environment replaces an inline map; map can be set as a YAML list", () =>
    Effect.gen(function* () {
      const mapFile = writeFiles({
        "m.yaml": `- database: env\n  urls: [{ url: "${SOURCE_URL}", sid: 1 }]\n  tables: { x.y: }\n`
      })
      const viaFile = yield* loadConfig({ file: configFile(), env: { WALFERRY_MAP_FILE: mapFile } })
      expect(viaFile.config.sources.map((g) => [g.database, g.tables[0]!.schema, g.tables[0]!.name])).toEqual([
        ["env", "x", "y"]
      ])
      const list = `[{ database: inline, urls: [{ url: "${SOURCE_URL}" }], tables: { t: { type: bogus } } }]`
      const e = yield* loadFailure({ file: configFile(), env: { WALFERRY_MAP: list } })
      expect(e.message).toMatch(/^environment: WALFERRY_MAP \(map\[0\]\.tables\.t\.type\): expected one of clone/)
      const missing = yield* loadFailure({ file: configFile(), env: { WALFERRY_MAP_FILE: "/nonexistent/map.yaml" } })
      expect(missing.message).toBe("environment: WALFERRY_MAP_FILE (map_file): file not found: /nonexistent/map.yaml")
    })
  )

  it.effect("works without a file: WALFERRY_* variables alone", () =>
    Effect.gen(function* () {
      const mapFile = writeFiles({ "m.yaml": `- database: d\n  urls: [{ url: "${SOURCE_URL}" }]\n  tables: { t: }\n` })
      const { config } = yield* loadConfig({ env: { WALFERRY_DESTINATION__URL: DEST_URL, WALFERRY_MAP_FILE: mapFile } })
      expect(config.origin).toBe("environment")
      expect(config.sources[0]!.database).toBe("d")
      const e = yield* loadFailure({ env: { WALFERRY_MAP_FILE: mapFile } })
      expect(e.message).toBe("environment: WALFERRY_DESTINATION (destination): is required")
    })
  )
})
