/**
 * Resolves the configuration, in this order: the YAML file (`--config`), or without a file the zero-config
 * environment (`SOURCE_URL`, `TARGET_URL`, `TABLES`, optional `SOURCE_SID`, `SOURCE_DATABASE`), or `WALFERRY_*`
 * variables alone; then `WALFERRY_*` overrides on top; then one strict schema decode; then the mapping
 * (`map_file`, relative to the config file, or inline `map`). Every failure is a `ConfigError` naming where.
 */
import { readFile } from "node:fs/promises"
import { dirname, isAbsolute, join } from "node:path"
import { Effect } from "effect"
import YAML, { LineCounter } from "yaml"
import type { SourceGroup, WalferryConfig } from "./Config.js"
import { ConfigError, configError, fileLocator, formatPath, type KeyPath, type Locator } from "./ConfigError.js"
import { decodeWalferryFile, parseListen, type WalferryFile } from "./ConfigSchema.js"
import { applyEnvOverrides, envVarName, hasEnvOverrides } from "./EnvOverrides.js"
import { decodeKuvaszMap, toSourceGroups } from "./KuvaszMap.js"

export interface LoadOptions {
  /** path of walferry's YAML file; without it the configuration comes from the environment */
  readonly file?: string | undefined
  /** defaults to `process.env` */
  readonly env?: Record<string, string | undefined> | undefined
}

export interface LoadedConfig {
  readonly config: WalferryConfig
  /** accepted but unsupported settings (kuvasz CEL keys), to be logged */
  readonly warnings: ReadonlyArray<string>
}

interface Base {
  readonly raw: Record<string, unknown>
  readonly locate: Locator
  readonly origin: string
  /** directory a relative `map_file` is resolved against */
  readonly dir: string
  readonly zeroConfig: boolean
}

const ZERO_CONFIG = ["SOURCE_URL", "TARGET_URL", "TABLES"] as const

export const NO_CONFIG_MESSAGE =
  "no configuration: pass --config FILE (a walferry YAML file, see config/example.yaml), or set SOURCE_URL, " +
  "TARGET_URL and TABLES (zero-config form; optional SOURCE_SID, SOURCE_DATABASE, WALFERRY_* overrides)"

const isRecord = (u: unknown): u is Record<string, unknown> => typeof u === "object" && u !== null && !Array.isArray(u)
const present = (value: string | undefined): value is string => value !== undefined && value.trim() !== ""

/** Reads and parses a YAML file; a syntax error names the file, line and column. */
export const readYamlFile = (file: string, notFound: ConfigError): Effect.Effect<unknown, ConfigError> =>
  Effect.gen(function* () {
    const text = yield* Effect.tryPromise({
      try: () => readFile(file, "utf8"),
      catch: (e) =>
        (e as NodeJS.ErrnoException).code === "ENOENT"
          ? notFound
          : new ConfigError({ file, path: "", message: `cannot read file: ${(e as Error).message}` })
    })
    const lineCounter = new LineCounter()
    const doc = YAML.parseDocument(text, { prettyErrors: false, lineCounter, uniqueKeys: true })
    const error = doc.errors[0]
    if (error !== undefined) {
      const { line, col } = lineCounter.linePos(error.pos[0])
      return yield* new ConfigError({
        file,
        path: "",
        message: `YAML syntax error at line ${line}, column ${col}: ${error.message}`
      })
    }
    return doc.toJS({ maxAliasCount: 1000 }) as unknown
  })

const fromFile = (file: string): Effect.Effect<Base, ConfigError> =>
  Effect.gen(function* () {
    const doc = yield* readYamlFile(file, new ConfigError({ file, path: "", message: "file not found" }))
    if (Array.isArray(doc)) {
      const hint = "got a list (is this a kuvasz map.yaml? reference it with map_file)"
      return yield* new ConfigError({ file, path: "", message: `expected a mapping of walferry settings, ${hint}` })
    }
    if (doc !== null && !isRecord(doc)) {
      return yield* new ConfigError({ file, path: "", message: "expected a mapping of walferry settings" })
    }
    return { raw: doc ?? {}, locate: fileLocator(file), origin: file, dir: dirname(file), zeroConfig: false }
  })

/** the database name of a URL (`postgres://h/db`) or key=value DSN (`dbname=db`) */
export const databaseOfUrl = (url: string): string | undefined => {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(url)
  if (scheme === null) {
    const m = /(?:^|\s)dbname\s*=\s*(?:'([^']*)'|(\S+))/.exec(url)
    return m?.[1] || m?.[2] || undefined
  }
  const rest = url.slice(scheme[0].length).split(/[?#]/)[0]!
  const afterAuth = rest.slice(rest.lastIndexOf("@") + 1)
  const slash = afterAuth.indexOf("/")
  const name = slash < 0 ? "" : decodeURIComponent(afterAuth.slice(slash + 1))
  return name === "" ? undefined : name
}

/** which zero-config variable a key path came from */
const zeroConfigVariable = (path: KeyPath): string | undefined => {
  if (path[0] === "destination") return path[1] === "url" ? "TARGET_URL" : undefined
  if (path[0] !== "map") return undefined
  if (path[2] === "urls") return path[4] === "sid" ? "SOURCE_SID" : "SOURCE_URL"
  return path[2] === "tables" ? "TABLES" : path[2] === "database" ? "SOURCE_DATABASE" : undefined
}

const zeroConfigLocator: Locator = (path) => {
  const name = zeroConfigVariable(path)
  return { file: "environment", path: name === undefined ? formatPath(path) : `${name} (${formatPath(path)})` }
}

const fromZeroConfig = (env: Record<string, string | undefined>): Effect.Effect<Base, ConfigError> =>
  Effect.gen(function* () {
    const fail = (path: string, message: string) => new ConfigError({ file: "environment", path, message })
    const missing = ZERO_CONFIG.filter(
      (name) => !present(env[name]) && !(name === "TARGET_URL" && present(env[envVarName(["destination", "url"])]))
    )
    if (missing.length > 0) {
      const message = `is missing; the zero-config form needs SOURCE_URL, TARGET_URL and TABLES (missing: ${missing.join(", ")})`
      return yield* fail(missing[0]!, message)
    }
    const sourceUrl = (env.SOURCE_URL ?? "").trim()
    const database = present(env.SOURCE_DATABASE) ? env.SOURCE_DATABASE.trim() : databaseOfUrl(sourceUrl)
    if (database === undefined) {
      return yield* fail("SOURCE_DATABASE", "is missing and SOURCE_URL names no database to default it to")
    }
    const tables = (env.TABLES ?? "")
      .split(",")
      .map((t) => t.trim())
      .filter((t) => t !== "")
    if (tables.length === 0) {
      return yield* fail("TABLES", 'expected a comma-separated list of "table" or "schema.table"')
    }
    const raw = {
      destination: present(env.TARGET_URL) ? { url: env.TARGET_URL.trim() } : {},
      map: [
        {
          database,
          urls: [{ url: sourceUrl, sid: env.SOURCE_SID?.trim() ?? "" }],
          tables: Object.fromEntries(tables.map((t) => [t, null]))
        }
      ]
    }
    return { raw, locate: zeroConfigLocator, origin: "environment", dir: process.cwd(), zeroConfig: true }
  })

const envOnlyLocator: Locator = (path) => ({ file: "environment", path: `${envVarName(path)} (${formatPath(path)})` })

const resolveMapping = (
  file: WalferryFile,
  base: Base,
  locate: Locator
): Effect.Effect<
  { readonly groups: ReadonlyArray<SourceGroup>; readonly warnings: ReadonlyArray<string> },
  ConfigError
> => {
  const defaults = {
    defaultSchema: file.default_schema,
    autoCreate: file.auto_create,
    firstVersionStart: file.history.first_version_start,
    addPositionColumn: file.history.add_position_column,
    ddl: file.ddl
  }
  if (file.map_mode === "database") {
    if (file.map !== undefined || file.map_file !== undefined) {
      const key = file.map_file !== undefined ? "map_file" : "map"
      return Effect.fail(
        configError(locate, [key], "must not be set with map_mode: database (the mapping is in the database)")
      )
    }
    return Effect.succeed({ groups: [], warnings: [] })
  }
  if (file.map !== undefined && file.map_file !== undefined) {
    return Effect.fail(configError(locate, ["map_file"], "set either map_file or map, not both"))
  }
  if (file.map !== undefined) return toSourceGroups(file.map, defaults, (path) => locate(["map", ...path]))
  if (file.map_file === undefined) {
    return Effect.fail(configError(locate, ["map_file"], "is required: a kuvasz map.yaml (or an inline map list)"))
  }
  const mapPath = isAbsolute(file.map_file) ? file.map_file : join(base.dir, file.map_file)
  return readYamlFile(mapPath, configError(locate, ["map_file"], `file not found: ${mapPath}`)).pipe(
    Effect.flatMap((doc) => decodeKuvaszMap(doc, defaults, fileLocator(mapPath)))
  )
}

const toConfig = (file: WalferryFile, origin: string, sources: ReadonlyArray<SourceGroup>, mapReadOnly: boolean) => {
  const { tuning: t, api, cluster: c } = file
  const listen = parseListen(api.listen)!
  const runner = parseListen(c.runner_address)!
  const runnerListen = c.listen === undefined ? runner : parseListen(c.listen)!
  const config: WalferryConfig = {
    origin,
    destination: {
      url: file.destination.url,
      schema: file.destination.schema,
      ...(file.destination.origin === undefined ? {} : { origin: file.destination.origin })
    },
    sourceOrigin: file.source_origin,
    sources,
    tuning: {
      writers: t.writers,
      batchSize: t.batch_size,
      commitIntervalMs: t.commit_interval_ms,
      batchMinRows: t.batch_min_rows,
      batchLingerMs: t.batch_linger_ms,
      batchRoundRows: t.batch_round_rows,
      mailboxCapacity: t.mailbox_capacity,
      statusIntervalMs: t.status_interval_ms,
      syncParallelism: t.sync_parallelism,
      syncChunkRows: t.sync_chunk_rows,
      syncRateRows: t.sync_rate_rows,
      syncRateBytes: t.sync_rate_bytes,
      shutdownTimeoutMs: t.shutdown_timeout_ms
    },
    api: {
      enabled: api.enabled,
      host: listen.host,
      port: listen.port,
      token: api.token,
      seriesIntervalMs: api.series_interval_ms,
      seriesWindowMinutes: api.series_window_minutes,
      ...(api.cors_origins.length === 0 ? {} : { corsOrigins: api.cors_origins })
    },
    naming: { prefix: file.naming.prefix },
    slots: { failover: file.slots.failover, onLost: file.slots.on_lost },
    cluster: {
      enabled: c.enabled,
      runnerHost: runner.host,
      runnerPort: runner.port,
      listenHost: runnerListen.host,
      listenPort: runnerListen.port,
      storageUrl: c.storage_url ?? file.destination.url,
      storageSchema: c.storage_schema,
      shardLockRefreshMs: c.shard_lock_refresh_ms,
      shardLockExpirationMs: c.shard_lock_expiration_ms,
      assignmentRefreshMs: c.assignment_refresh_ms,
      healthCheckMs: c.health_check_ms,
      shards: c.shards
    },
    log: { level: file.log.level, format: file.log.format },
    ...(file.wildcard_recheck_ms === 0 ? {} : { wildcardRecheckMs: file.wildcard_recheck_ms }),
    sequences: {
      syncIntervalMs: file.sequences.sync_interval_ms,
      margin: file.sequences.margin,
      extra: file.sequences.extra
    },
    mapReadOnly: mapReadOnly && file.map_mode === "yaml",
    ...(file.map_mode === "database"
      ? {
          mapMode: "database" as const,
          tableDefaults: {
            autoCreate: file.auto_create,
            firstVersionStart: file.history.first_version_start,
            addPositionColumn: file.history.add_position_column
          }
        }
      : {})
  }
  return config
}

const KUVASZ_PREFIX_WARNING =
  "naming.prefix is kuvasz: walferry takes over kuvasz-streamer's slots and publications (kuvasz_<database>_<sid>) " +
  "and streams from the position kuvasz confirmed, without an initial copy; kuvasz confirms positions before " +
  "they are committed, so changes may be missing or versioned twice. Use another prefix to start from a snapshot " +
  "(README: Coming from kuvasz-streamer)"

/** Loads, merges and validates the configuration (see the module header for the sources and their order). */
export const loadConfig = (options: LoadOptions): Effect.Effect<LoadedConfig, ConfigError> =>
  Effect.gen(function* () {
    const env = options.env ?? process.env
    const base: Base =
      options.file !== undefined
        ? yield* fromFile(options.file)
        : ZERO_CONFIG.some((name) => present(env[name]))
          ? yield* fromZeroConfig(env)
          : hasEnvOverrides(env)
            ? { raw: {}, locate: envOnlyLocator, origin: "environment", dir: process.cwd(), zeroConfig: false }
            : yield* new ConfigError({ file: "environment", path: "", message: NO_CONFIG_MESSAGE })
    const { raw, overrides, locate } = yield* applyEnvOverrides(base.raw, env, base.locate)
    const file = yield* decodeWalferryFile(raw, locate)
    const { groups, warnings } = yield* resolveMapping(file, base, locate)
    const mapFromEnvTables = base.zeroConfig && !overrides.some((o) => o.path[0] === "map" || o.path[0] === "map_file")
    const all = file.naming.prefix === "kuvasz" ? [...warnings, KUVASZ_PREFIX_WARNING] : warnings
    return { config: toConfig(file, base.origin, groups, !mapFromEnvTables), warnings: all }
  })
