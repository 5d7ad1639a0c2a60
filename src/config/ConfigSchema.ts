/**
 * walferry's own YAML file (snake_case keys, see config/example.yaml). Every section and key except
 * `destination.url` has a default; unknown keys are errors. The mapping is either `map_file` (a kuvasz
 * `map.yaml`, relative to this file) or an inline `map` in the same list format.
 */
import { Effect, Schema } from "effect"
import { expecting, fromParseError, type Locator } from "./ConfigError.js"
import {
  Bool,
  DdlModeSchema,
  FirstVersionStartSchema,
  KuvaszMapSchema,
  NonEmptyString,
  optional,
  Secret,
  withDefault
} from "./KuvaszMap.js"

const PositiveInt = Schema.Number.pipe(Schema.int(), Schema.positive()).annotations({
  message: expecting("a positive integer")
})
const NonNegativeInt = Schema.Number.pipe(Schema.int(), Schema.nonNegative()).annotations({
  message: expecting("an integer >= 0")
})
const PositiveNumber = Schema.Number.pipe(Schema.positive(), Schema.finite()).annotations({
  message: expecting("a positive number")
})

/** `host:port`, `:port` (all interfaces) or `[ipv6]:port` */
export const parseListen = (listen: string): { readonly host: string; readonly port: number } | undefined => {
  const m = /^(?:\[([^\]]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(listen)
  if (m === null) return undefined
  const port = Number(m[3])
  if (port > 65535) return undefined
  return { host: m[1] ?? (m[2] === "" || m[2] === undefined ? "0.0.0.0" : m[2]), port }
}

const Listen = Schema.String.pipe(Schema.filter((s) => parseListen(s) !== undefined)).annotations({
  message: expecting('"host:port" (e.g. "127.0.0.1:8000" or ":8000")')
})

const Address = Schema.String.pipe(Schema.filter((s) => parseListen(s) !== undefined)).annotations({
  message: expecting('"host:port" (e.g. "10.0.0.5:34431")')
})
const SchemaName = Schema.String.pipe(Schema.pattern(/^[a-z_][a-z0-9_]*$/)).annotations({
  message: expecting("a schema name: lower-case letters, digits and _")
})
const FailoverSlots = Schema.Literal("auto", "on", "off").annotations({ message: expecting("one of auto, on, off") })
const OnLostSlot = Schema.Literal("stop", "resync").annotations({ message: expecting("one of stop, resync") })

const LogLevelName = Schema.Literal("trace", "debug", "info", "warning", "error").annotations({
  message: expecting("one of trace, debug, info, warning, error")
})
const LogFormat = Schema.Literal("logfmt", "json").annotations({ message: expecting("one of logfmt, json") })
const Prefix = Schema.String.pipe(Schema.pattern(/^[a-z_][a-z0-9_]*$/)).annotations({
  message: expecting("lower-case letters, digits and _ (used in slot and publication names)")
})

/** a section whose keys all have defaults: absent means all defaults */
const section = <S extends Schema.Schema.AnyNoContext>(schema: S) =>
  withDefault(schema, () => Schema.decodeUnknownSync(schema)({}))

export const WalferryFileSchema = Schema.Struct({
  destination: Schema.Struct({
    url: Secret,
    schema: withDefault(NonEmptyString, () => "public"),
    origin: optional(
      Schema.String.pipe(Schema.pattern(/^[A-Za-z0-9_]{1,40}$/)).annotations({
        message: expecting("letters, digits and _ (at most 40)")
      })
    )
  }),
  source_origin: withDefault(
    Schema.Literal("any", "none").annotations({ message: expecting("one of any, none") }),
    () => "any" as const
  ),
  map_mode: withDefault(
    Schema.Literal("yaml", "database").annotations({ message: expecting("one of yaml, database") }),
    () => "yaml" as const
  ),
  map_file: optional(NonEmptyString),
  map: optional(KuvaszMapSchema),
  default_schema: withDefault(NonEmptyString, () => "public"),
  auto_create: withDefault(Bool, () => true),
  ddl: withDefault(DdlModeSchema, () => "off" as const),
  wildcard_recheck_ms: withDefault(NonNegativeInt, () => 0),
  tuning: section(
    Schema.Struct({
      writers: withDefault(PositiveInt, () => 4),
      batch_size: withDefault(PositiveInt, () => 5000),
      commit_interval_ms: withDefault(NonNegativeInt, () => 0),
      batch_min_rows: withDefault(PositiveInt, () => 256),
      batch_linger_ms: withDefault(NonNegativeInt, () => 10),
      batch_round_rows: withDefault(NonNegativeInt, () => 32),
      mailbox_capacity: withDefault(PositiveInt, () => 8192),
      status_interval_ms: withDefault(PositiveInt, () => 1000),
      sync_parallelism: withDefault(PositiveInt, () => 4),
      sync_chunk_rows: withDefault(PositiveInt, () => 100_000),
      sync_rate_rows: optional(PositiveNumber),
      sync_rate_bytes: optional(PositiveInt),
      shutdown_timeout_ms: withDefault(NonNegativeInt, () => 30_000)
    })
  ),
  api: section(
    Schema.Struct({
      enabled: withDefault(Bool, () => true),
      listen: withDefault(Listen, () => "127.0.0.1:8000"),
      token: optional(Secret),
      series_interval_ms: withDefault(PositiveInt, () => 5000),
      series_window_minutes: withDefault(PositiveInt, () => 30),
      cors_origins: withDefault(Schema.Array(NonEmptyString), () => [])
    })
  ),
  history: section(
    Schema.Struct({
      first_version_start: withDefault(FirstVersionStartSchema, () => "commit" as const),
      add_position_column: withDefault(Bool, () => true)
    })
  ),
  naming: section(Schema.Struct({ prefix: withDefault(Prefix, () => "walferry") })),
  slots: section(
    Schema.Struct({
      failover: withDefault(FailoverSlots, () => "auto" as const),
      on_lost: withDefault(OnLostSlot, () => "stop" as const)
    })
  ),
  cluster: section(
    Schema.Struct({
      enabled: withDefault(Bool, () => false),
      runner_address: withDefault(Address, () => "127.0.0.1:34431"),
      listen: optional(Listen),
      storage_url: optional(Secret),
      storage_schema: withDefault(SchemaName, () => "walferry_cluster"),
      shard_lock_refresh_ms: withDefault(PositiveInt, () => 2000),
      shard_lock_expiration_ms: withDefault(PositiveInt, () => 6000),
      assignment_refresh_ms: withDefault(PositiveInt, () => 250),
      health_check_ms: withDefault(PositiveInt, () => 5000),
      shards: optional(PositiveInt)
    })
  ),
  sequences: section(
    Schema.Struct({
      sync_interval_ms: withDefault(NonNegativeInt, () => 60_000),
      margin: withDefault(NonNegativeInt, () => 1000),
      extra: withDefault(
        Schema.Array(
          Schema.String.pipe(Schema.pattern(/^[^.\s]+\.[^.\s]+$/)).annotations({
            message: expecting('"schema.sequence"')
          })
        ),
        () => []
      )
    })
  ),
  log: section(
    Schema.Struct({
      level: withDefault(LogLevelName, () => "info" as const),
      format: withDefault(LogFormat, () => "logfmt" as const)
    })
  )
})

export type WalferryFile = typeof WalferryFileSchema.Type

/** Decodes a parsed YAML document (plus env overrides) strictly: unknown keys are errors. */
export const decodeWalferryFile = (raw: unknown, locate: Locator) =>
  Schema.decodeUnknown(WalferryFileSchema, { onExcessProperty: "error" })(raw).pipe(
    Effect.mapError((error) => fromParseError(error, locate))
  )
