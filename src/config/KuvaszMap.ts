/**
 * kuvasz-streamer's `map.yaml`, accepted unchanged: a list of database groups
 * `{ database, urls: [{ url, sid }], tables: { <table | schema.table>: null | { type, target, partitions_regex } } }`.
 * Stricter than kuvasz: `type` must be clone|append|history, unknown keys are errors, a CEL `filter` or `set`
 * expression that does not parse is an error here (type errors are found against the source columns at
 * start, see route/ExpressionCheck); `insert` is accepted and ignored with a warning. walferry extensions per
 * table: `auto_create`, `existing_rows` (truncate|upsert|reconcile) and `history: { start, end, deleted, lsn }`
 * (column names) with `first_version_start` (commit|sentinel) and `add_position_column`; per group: `sync_rate_rows` / `sync_rate_bytes` (initial-sync limit of each of its source URLs) and
 * `ddl` (off|capture|remove: source DDL capture, default the file's top-level `ddl`).
 */
import { Effect, Schema } from "effect"
import type {
  DdlMode,
  FirstVersionStart,
  HistoryColumns,
  SourceGroup,
  TableMapping,
  TableMode,
  TableWildcard
} from "./Config.js"
import { syntaxError } from "../route/RowExpressions.js"
import { configError, ConfigError, expecting, fromParseError, type KeyPath, type Locator } from "./ConfigError.js"
import { isPatternKey, parsePattern } from "./TablePattern.js"

/** optional key: absent or null (`key:` / `key: ~` in YAML) both mean "not set" */
export const optional = <S extends Schema.Schema.AnyNoContext>(schema: S) =>
  Schema.optionalWith(schema, { exact: true, nullable: true })

export const withDefault = <S extends Schema.Schema.AnyNoContext>(schema: S, value: () => Schema.Schema.Type<S>) =>
  Schema.optionalWith(schema, { exact: true, nullable: true, default: value })

export const NonEmptyString = Schema.String.pipe(Schema.minLength(1)).annotations({
  message: expecting("a non-empty string")
})
export const Bool = Schema.Boolean.annotations({ message: expecting("true or false") })
/** connection URLs and tokens: decoded into `Redacted`, never echoed in error messages */
export const Secret = Schema.Redacted(
  Schema.String.pipe(Schema.minLength(1)).annotations({ message: expecting("a non-empty string", { hideValue: true }) })
)

export const DEFAULT_HISTORY_COLUMNS: HistoryColumns = {
  start: "kvsz_start",
  end: "kvsz_end",
  deleted: "kvsz_deleted",
  lsn: "kvsz_lsn"
}

export const FirstVersionStartSchema = Schema.Literal("commit", "sentinel").annotations({
  message: expecting("one of commit, sentinel")
})

const Mode = Schema.Literal("clone", "append", "history").annotations({
  message: expecting("one of clone, append, history")
})

const Sid = Schema.transform(
  Schema.Union(Schema.String, Schema.Number).annotations({ message: expecting("a string or a number") }),
  Schema.String,
  { strict: true, decode: (sid) => String(sid), encode: (sid) => sid }
)

const TableEntry = Schema.Struct({
  type: optional(Mode),
  target: optional(NonEmptyString),
  partitions_regex: optional(NonEmptyString),
  filter: optional(NonEmptyString),
  set: optional(Schema.Record({ key: Schema.String, value: NonEmptyString })),
  insert: optional(Schema.Unknown),
  auto_create: optional(Bool),
  existing_rows: optional(
    Schema.Literal("truncate", "upsert", "reconcile").annotations({
      message: expecting("one of truncate, upsert, reconcile")
    })
  ),
  history: optional(
    Schema.Struct({
      start: optional(NonEmptyString),
      end: optional(NonEmptyString),
      deleted: optional(NonEmptyString),
      lsn: optional(NonEmptyString),
      first_version_start: optional(FirstVersionStartSchema),
      add_position_column: optional(Bool)
    })
  )
})

export const DdlModeSchema = Schema.Literal("off", "capture", "remove").annotations({
  message: expecting("one of off, capture, remove")
})

const Group = Schema.Struct({
  database: NonEmptyString,
  urls: Schema.Array(Schema.Struct({ url: Secret, sid: withDefault(Sid, () => "") })),
  tables: Schema.Record({ key: Schema.String, value: Schema.NullOr(TableEntry) }),
  sync_rate_rows: optional(
    Schema.Number.pipe(Schema.positive(), Schema.finite()).annotations({ message: expecting("a positive number") })
  ),
  sync_rate_bytes: optional(
    Schema.Number.pipe(Schema.int(), Schema.positive()).annotations({ message: expecting("a positive integer") })
  ),
  ddl: optional(DdlModeSchema)
})

export const KuvaszMapSchema = Schema.Array(Group)
export type KuvaszMap = typeof KuvaszMapSchema.Type

export interface MapDefaults {
  /** schema of unqualified table keys */
  readonly defaultSchema: string
  /** `auto_create` of tables that do not set it */
  readonly autoCreate: boolean
  /** history tables that do not set them (walferry.yaml `history:`) */
  readonly firstVersionStart?: FirstVersionStart
  readonly addPositionColumn?: boolean
  /** `ddl` of groups that do not set it */
  readonly ddl?: DdlMode
}

const INSERT_IGNORED = "is not supported (kuvasz ignores it too)"

const located = (locate: Locator, path: KeyPath, message: string): string => {
  const where = locate(path)
  return [where.file, where.path, message].filter((p) => p !== "").join(": ")
}

const splitTableKey = (key: string, defaultSchema: string): readonly [string, string] | undefined => {
  const parts = key.split(".")
  if (parts.some((p) => p.trim() === "" || p !== p.trim())) return undefined
  if (parts.length === 1) return [defaultSchema, parts[0]!]
  if (parts.length === 2) return [parts[0]!, parts[1]!]
  return undefined
}

const checkRegex = (regex: string): string | undefined => {
  try {
    new RegExp(regex)
    return undefined
  } catch (e) {
    return e instanceof Error ? e.message : String(e)
  }
}

/** Semantic checks and conversion of a decoded map into `SourceGroup`s (`locate` maps paths into the map). */
export const toSourceGroups = (
  map: KuvaszMap,
  defaults: MapDefaults,
  locate: Locator
): Effect.Effect<
  { readonly groups: ReadonlyArray<SourceGroup>; readonly warnings: ReadonlyArray<string> },
  ConfigError
> =>
  Effect.gen(function* () {
    const fail = (path: KeyPath, message: string) => configError(locate, path, message)
    if (map.length === 0) return yield* fail([], "at least one database group is required")
    const warnings: Array<string> = []
    const groups: Array<SourceGroup> = []
    const names = new Map<string, number>()
    for (const [g, group] of map.entries()) {
      const seen = names.get(group.database)
      if (seen !== undefined) return yield* fail([g, "database"], `duplicate database group name (also [${seen}])`)
      names.set(group.database, g)
      if (group.urls.length === 0) return yield* fail([g, "urls"], "at least one source url is required")
      const sids = new Map<string, number>()
      for (const [u, { sid }] of group.urls.entries()) {
        const other = sids.get(sid)
        if (other !== undefined)
          return yield* fail([g, "urls", u, "sid"], `duplicate sid "${sid}" (also urls[${other}])`)
        sids.set(sid, u)
      }
      const entries = Object.entries(group.tables)
      if (entries.length === 0) return yield* fail([g, "tables"], "at least one table is required")
      const tables: Array<TableMapping> = []
      const wildcards: Array<TableWildcard> = []
      const keys = new Map<string, string>()
      for (const [key, entry] of entries) {
        const here = [g, "tables", key]
        const pattern = isPatternKey(key) ? parsePattern(key, defaults.defaultSchema) : undefined
        if (typeof pattern === "string") return yield* fail(here, `invalid wildcard key: ${pattern}`)
        if (pattern !== undefined && entry?.target !== undefined) {
          return yield* fail(
            [...here, "target"],
            `a wildcard key maps every matching table to its own name and cannot set target; map the tables to rename explicitly`
          )
        }
        const split =
          pattern !== undefined ? [pattern.schema, pattern.name] : splitTableKey(key, defaults.defaultSchema)
        if (split === undefined)
          return yield* fail(here, `expected a table key "table" or "schema.table", got "${key}"`)
        const [schema, name] = split
        const qualified = `${schema}.${name}`
        const duplicate = keys.get(qualified)
        if (duplicate !== undefined) return yield* fail(here, `same table as "${duplicate}" (${qualified})`)
        keys.set(qualified, key)
        const regexError = entry?.partitions_regex === undefined ? undefined : checkRegex(entry.partitions_regex)
        if (regexError !== undefined) {
          return yield* fail([...here, "partitions_regex"], `invalid regular expression: ${regexError}`)
        }
        if (entry?.insert !== undefined) warnings.push(located(locate, [...here, "insert"], INSERT_IGNORED))
        const set = entry?.set === undefined ? undefined : Object.entries(entry.set)
        if (set?.length === 0) return yield* fail([...here, "set"], "expected at least one column")
        for (const [path, expression] of [
          ...(entry?.filter === undefined ? [] : [[["filter"], entry.filter] as const]),
          ...(set ?? []).map(([column, e]) => [["set", column], e] as const)
        ]) {
          const error = syntaxError(expression)
          if (error !== undefined)
            return yield* fail([...here, ...path], `invalid CEL expression "${expression}": ${error}`)
        }
        if (set !== undefined && entry?.auto_create === true) {
          return yield* fail(
            [...here, "auto_create"],
            "a table with `set` columns cannot be auto-created from the source"
          )
        }
        const mode: TableMode = entry?.type ?? "clone"
        if (entry?.existing_rows === "reconcile" && mode !== "history") {
          return yield* fail([...here, "existing_rows"], "reconcile is for history tables only")
        }
        const { first_version_start, add_position_column, ...historyNames } = entry?.history ?? {}
        const mapping: TableMapping = {
          schema,
          name,
          mode,
          target: entry?.target ?? name,
          partitionsRegex: entry?.partitions_regex,
          autoCreate: set === undefined && (entry?.auto_create ?? defaults.autoCreate),
          history: { ...DEFAULT_HISTORY_COLUMNS, ...historyNames },
          ...(entry?.existing_rows === undefined ? {} : { existingRows: entry.existing_rows }),
          firstVersionStart: first_version_start ?? defaults.firstVersionStart ?? "commit",
          addPositionColumn: add_position_column ?? defaults.addPositionColumn ?? true,
          ...(entry?.filter === undefined && set === undefined ? {} : { expressions: { filter: entry?.filter, set } })
        }
        if (pattern === undefined) tables.push(mapping)
        else wildcards.push({ key, schema, name, template: mapping })
      }
      groups.push({
        database: group.database,
        urls: group.urls,
        tables,
        ...(wildcards.length === 0 ? {} : { wildcards }),
        ...(group.sync_rate_rows === undefined ? {} : { syncRateRows: group.sync_rate_rows }),
        ...(group.sync_rate_bytes === undefined ? {} : { syncRateBytes: group.sync_rate_bytes }),
        ...((group.ddl ?? defaults.ddl ?? "off") === "off" ? {} : { ddl: group.ddl ?? defaults.ddl })
      })
    }
    return { groups, warnings }
  })

/** Decodes a parsed `map.yaml` document (any value) into `SourceGroup`s plus warnings. */
export const decodeKuvaszMap = (raw: unknown, defaults: MapDefaults, locate: Locator) =>
  Schema.decodeUnknown(KuvaszMapSchema, { onExcessProperty: "error" })(raw).pipe(
    Effect.mapError((error) => fromParseError(error, locate)),
    Effect.flatMap((map) => toSourceGroups(map, defaults, locate))
  )
