import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Redacted } from "effect"
import type { WalferryConfig } from "../../../src/config/Config.js"
import { ConfigError } from "../../../src/config/ConfigError.js"
import { loadConfig } from "../../../src/config/ConfigLoader.js"
import {
  DEST_URL,
  indent,
  inlineMap,
  kuvaszMapText,
  loadFailure,
  SOURCE_URL,
  walferryYaml,
  writeFiles
} from "./fixtures.js"

const shippedConfig = fileURLToPath(new URL("../../../config/walferry.yaml", import.meta.url))
const exampleConfig = fileURLToPath(new URL("../../../config/example.yaml", import.meta.url))

/** the mapping with secrets unwrapped, for comparisons */
const plainSources = (config: WalferryConfig) =>
  config.sources.map((g) => ({ ...g, urls: g.urls.map((u) => ({ url: Redacted.value(u.url), sid: u.sid })) }))

describe("ConfigLoader: kuvasz map", () => {
  it.effect("loads the kuvasz example map unchanged through map_file", () =>
    Effect.gen(function* () {
      const { config, warnings } = yield* loadConfig({ file: shippedConfig, env: {} })
      expect(config.origin).toBe(shippedConfig)
      expect(config.mapReadOnly).toBe(true)
      expect(config.sources.map((g) => g.database)).toEqual(["billing", "catalogue"])
      const [billing, catalogue] = plainSources(config)
      expect(billing!.urls).toEqual([
        { url: "postgres://repl:pw@tenant-a.db:5432/billing", sid: "tenant_a" },
        { url: "postgres://repl:pw@tenant-b.db:5432/billing", sid: "tenant_b" }
      ])
      const history = { start: "kvsz_start", end: "kvsz_end", deleted: "kvsz_deleted", lsn: "kvsz_lsn" }
      const table = (
        schema: string,
        name: string,
        mode: string,
        target: string,
        partitionsRegex?: string,
        filter?: string
      ) => ({
        schema,
        name,
        mode,
        target,
        partitionsRegex,
        autoCreate: true,
        history,
        firstVersionStart: "commit",
        addPositionColumn: true,
        ...(filter === undefined ? {} : { expressions: { filter, set: undefined } })
      })
      expect(billing!.tables).toEqual([
        table("public", "customers", "clone", "customers"),
        table("public", "invoices", "append", "invoices"),
        table("accounts", "balance", "history", "account_balance_hist"),
        table("public", "events", "clone", "events", "^events_p[0-9]+$"),
        table("public", "payments", "clone", "big_payments", undefined, "amount > 1000.0")
      ])
      expect(catalogue!.tables).toEqual([table("public", "products", "clone", "catalogue_products")])
      expect(warnings).toHaveLength(0)
    })
  )

  it.effect("loads the same map inline, and the annotated example", () =>
    Effect.gen(function* () {
      const viaFile = yield* loadConfig({ file: shippedConfig, env: {} })
      const file = writeFiles({ "inline.yaml": walferryYaml(`map:\n${indent(kuvaszMapText, 2)}`) })
      const inline = yield* loadConfig({ file, env: {} })
      expect(plainSources(inline.config)).toEqual(plainSources(viaFile.config))
      const example = yield* loadConfig({ file: exampleConfig, env: {} })
      expect(plainSources(example.config)).toEqual(plainSources(viaFile.config))
    })
  )

  it.effect("applies defaults and walferry's table extensions", () =>
    Effect.gen(function* () {
      const tables = "t1:\n  auto_create: false\n  history: { start: valid_from, lsn: src_lsn }\nt2:\n"
      const file = writeFiles({
        "c.yaml": walferryYaml(`default_schema: app\nauto_create: false\n${inlineMap(tables)}`)
      })
      const { config } = yield* loadConfig({ file, env: {} })
      const [t1, t2] = config.sources[0]!.tables
      expect(t1).toMatchObject({ schema: "app", name: "t1", autoCreate: false })
      expect(t1!.history).toEqual({ start: "valid_from", end: "kvsz_end", deleted: "kvsz_deleted", lsn: "src_lsn" })
      expect(t2).toMatchObject({ schema: "app", mode: "clone", target: "t2", autoCreate: false })
      expect(Redacted.value(config.destination.url)).toBe(DEST_URL)
      expect(config.destination.schema).toBe("public")
      expect(config.tuning).toEqual({
        writers: 4,
        batchSize: 5000,
        commitIntervalMs: 0,
        batchMinRows: 256,
        batchLingerMs: 10,
        batchRoundRows: 32,
        mailboxCapacity: 8192,
        statusIntervalMs: 1000,
        syncParallelism: 4,
        syncChunkRows: 100000,
        syncRateRows: undefined,
        syncRateBytes: undefined,
        shutdownTimeoutMs: 30000
      })
      expect(config.api).toEqual({
        enabled: true,
        host: "127.0.0.1",
        port: 8000,
        token: undefined,
        seriesIntervalMs: 5000,
        seriesWindowMinutes: 30
      })
      expect(config.naming).toEqual({ prefix: "walferry" })
      expect(config.log).toEqual({ level: "info", format: "logfmt" })
    })
  )

  it.effect("history options: global defaults in walferry.yaml, per table in the map, from the environment", () =>
    Effect.gen(function* () {
      const tables =
        "t1: { type: history }\n" +
        "t2: { type: history, existing_rows: truncate, history: { first_version_start: commit, add_position_column: true } }\n"
      const file = writeFiles({
        "h.yaml": walferryYaml(
          `history: { first_version_start: sentinel, add_position_column: false }\n${inlineMap(tables)}`
        )
      })
      const { config } = yield* loadConfig({ file, env: {} })
      const [t1, t2] = config.sources[0]!.tables
      expect(t1).toMatchObject({ firstVersionStart: "sentinel", addPositionColumn: false })
      expect(t1!.existingRows).toBeUndefined()
      expect(t1!.history).toEqual({ start: "kvsz_start", end: "kvsz_end", deleted: "kvsz_deleted", lsn: "kvsz_lsn" })
      expect(t2).toMatchObject({ firstVersionStart: "commit", addPositionColumn: true, existingRows: "truncate" })
      const plain = writeFiles({ "p.yaml": walferryYaml(inlineMap("t1: { type: history }\n")) })
      const viaEnv = yield* loadConfig({ file: plain, env: { WALFERRY_HISTORY__FIRST_VERSION_START: "sentinel" } })
      expect(viaEnv.config.sources[0]!.tables[0]).toMatchObject({
        firstVersionStart: "sentinel",
        addPositionColumn: true
      })
      const defaults = yield* loadConfig({ file: plain, env: {} })
      expect(defaults.config.sources[0]!.tables[0]).toMatchObject({ firstVersionStart: "commit" })
      expect(defaults.warnings).toEqual([])
      const takeover = yield* loadConfig({ file: plain, env: { WALFERRY_NAMING__PREFIX: "kuvasz" } })
      expect(takeover.warnings).toEqual([expect.stringMatching(/^naming\.prefix is kuvasz: walferry takes over/)])
    })
  )

  it.effect("accepts numeric sids as strings and null sections as defaults", () =>
    Effect.gen(function* () {
      const map = `map:\n  - database: d\n    urls:\n      - { url: "${SOURCE_URL}", sid: 12 }\n    tables: { t: }\n`
      const file = writeFiles({ "c.yaml": walferryYaml(`tuning:\napi: { listen: ":9000" }\n${map}`) })
      const { config } = yield* loadConfig({ file, env: {} })
      expect(config.sources[0]!.urls[0]!.sid).toBe("12")
      expect(config.tuning.writers).toBe(4)
      expect(config.api).toMatchObject({ host: "0.0.0.0", port: 9000 })
    })
  )
})

describe("ConfigLoader: errors", () => {
  const failure = (body: string, extra: Record<string, string> = {}) =>
    loadFailure({ file: writeFiles({ "walferry.yaml": walferryYaml(body), ...extra }) })

  it.effect("a typo'd key names its path", () =>
    Effect.gen(function* () {
      const e = yield* failure(`tuning: { batchsize: 10 }\n${inlineMap("t:")}`)
      expect(e).toBeInstanceOf(ConfigError)
      expect(e.path).toBe("tuning.batchsize")
      expect(e.message).toMatch(
        /walferry\.yaml: tuning\.batchsize: unknown key \(expected one of: writers, batch_size,/
      )
      const inMap = yield* failure(inlineMap("t1:\n  tpye: append"))
      expect(inMap.path).toBe("map[0].tables.t1.tpye")
    })
  )

  it.effect("a wrong type names its path and is exit-2-worthy", () =>
    Effect.gen(function* () {
      const e = yield* failure(`tuning: { batch_size: abc }\n${inlineMap("t:")}`)
      expect(e._tag).toBe("ConfigError")
      expect(e.exitCode).toBe(2)
      expect(e.file).toMatch(/walferry\.yaml$/)
      expect(e.path).toBe("tuning.batch_size")
      expect(e.detail).toBe('expected a positive integer, got "abc"')
      expect(e.message).toBe(`${e.file}: tuning.batch_size: expected a positive integer, got "abc"`)
      const mode = yield* failure(inlineMap("t1:\n  type: snapshot"))
      expect(mode.message).toMatch(
        /: map\[0\]\.tables\.t1\.type: expected one of clone, append, history, got "snapshot"$/
      )
      const listen = yield* failure(`api: { listen: localhost }\n${inlineMap("t:")}`)
      expect(listen.path).toBe("api.listen")
      const missing = yield* loadFailure({ file: writeFiles({ "c.yaml": inlineMap("t:") }) })
      expect(missing.message).toMatch(/c\.yaml: destination: is required$/)
    })
  )

  it.effect("a CEL expression that does not parse names its key and the expression", () =>
    Effect.gen(function* () {
      const filter = yield* failure(inlineMap('t1:\n  filter: "salary > "'))
      expect(filter.path).toBe("map[0].tables.t1.filter")
      expect(filter.message).toMatch(/map\[0\]\.tables\.t1\.filter: invalid CEL expression "salary > ": /)
      const set = yield* failure(inlineMap('t1:\n  set: { full: "first +", id: id }'))
      expect(set.path).toBe("map[0].tables.t1.set.full")
      const create = yield* failure(inlineMap("t1:\n  auto_create: true\n  set: { id: id }"))
      expect(create.path).toBe("map[0].tables.t1.auto_create")
    })
  )

  it.effect("replication origins: destination.origin and source_origin, with their defaults", () =>
    Effect.gen(function* () {
      const plain = yield* loadConfig({ file: writeFiles({ "w.yaml": walferryYaml(inlineMap("t:")) }), env: {} })
      expect(plain.config.destination.origin).toBeUndefined()
      expect(plain.config.sourceOrigin).toBe("any")
      const file = writeFiles({
        "w.yaml": `${walferryYaml(`  origin: a_to_b\nsource_origin: none\n`)}${inlineMap("t:")}`
      })
      const { config } = yield* loadConfig({ file, env: {} })
      expect(config.destination.origin).toBe("a_to_b")
      expect(config.sourceOrigin).toBe("none")
      const bad = yield* failure("source_origin: all\n" + inlineMap("t:"))
      expect(bad.message).toMatch(/source_origin: expected one of any, none, got "all"$/)
    })
  )

  it.effect("a missing map_file names the key and the path", () =>
    Effect.gen(function* () {
      const e = yield* failure("map_file: ./nope.yaml\n")
      expect(e.path).toBe("map_file")
      expect(e.message).toMatch(/walferry\.yaml: map_file: file not found: .*nope\.yaml$/)
      const none = yield* failure("")
      expect(none.path).toBe("map_file")
      const both = yield* failure(`map_file: ./m.yaml\n${inlineMap("t:")}`)
      expect(both.detail).toBe("set either map_file or map, not both")
    })
  )

  it.effect("history option errors name their key", () =>
    Effect.gen(function* () {
      const bad = writeFiles({
        "b.yaml": walferryYaml(inlineMap("t1: { type: history, history: { first_version_start: never } }\n"))
      })
      expect((yield* loadFailure({ file: bad })).message).toMatch(
        /t1\.history\.first_version_start: expected one of commit, sentinel, got "never"$/
      )
      const clone = writeFiles({ "c.yaml": walferryYaml(inlineMap("t1: { existing_rows: reconcile }\n")) })
      expect((yield* loadFailure({ file: clone })).message).toMatch(
        /t1\.existing_rows: reconcile is for history tables only$/
      )
    })
  )

  it.effect("a bad partitions_regex names the key", () =>
    Effect.gen(function* () {
      const e = yield* failure(inlineMap('events:\n  partitions_regex: "events_(["'))
      expect(e.path).toBe("map[0].tables.events.partitions_regex")
      expect(e.detail).toMatch(/^invalid regular expression/)
      const inFile = yield* failure("map_file: m.yaml\n", {
        "m.yaml": '- database: d\n  urls: [{ url: "u" }]\n  tables: { t: { partitions_regex: "(" } }\n'
      })
      expect(inFile.message).toMatch(/m\.yaml: \[0\]\.tables\.t\.partitions_regex: invalid regular expression/)
    })
  )

  it.effect("semantic checks: groups, urls, sids, table keys", () =>
    Effect.gen(function* () {
      const dupSid = yield* failure(
        `map:\n  - database: d\n    urls: [{ url: a, sid: x }, { url: b, sid: x }]\n    tables: { t: }\n`
      )
      expect(dupSid.message).toMatch(/: map\[0\]\.urls\[1\]\.sid: duplicate sid "x" \(also urls\[0\]\)$/)
      const noUrl = yield* failure(`map:\n  - database: d\n    urls: []\n    tables: { t: }\n`)
      expect(noUrl.path).toBe("map[0].urls")
      const sameTable = yield* failure(inlineMap("t:\npublic.t:"))
      expect(sameTable.path).toBe('map[0].tables["public.t"]')
      const badKey = yield* failure(inlineMap("a.b.c:"))
      expect(badKey.detail).toMatch(/expected a table key/)
      const empty = yield* failure("map: []\n")
      expect(empty.detail).toBe("at least one database group is required")
    })
  )

  it.effect("YAML syntax errors name the file and line", () =>
    Effect.gen(function* () {
      const e = yield* loadFailure({
        file: writeFiles({ "bad.yaml": `destination:\n  url: ${DEST_URL}\n   schema: x\n` })
      })
      expect(e.path).toBe("")
      expect(e.message).toMatch(/bad\.yaml: YAML syntax error at line 2, column 8: /)
      const dup = yield* loadFailure({ file: writeFiles({ "dup.yaml": "log: {}\nlog: {}\n" }) })
      expect(dup.message).toMatch(/dup\.yaml: YAML syntax error at line 2, column 1: Map keys must be unique/)
      const map = yield* failure("map_file: m.yaml\n", { "m.yaml": "- database: [\n" })
      expect(map.message).toMatch(/m\.yaml: YAML syntax error at line \d+/)
      const notFound = yield* loadFailure({ file: "/nonexistent/walferry.yaml" })
      expect(notFound.message).toBe("/nonexistent/walferry.yaml: file not found")
    })
  )
})
