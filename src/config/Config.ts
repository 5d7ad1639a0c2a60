import type { Redacted } from "effect"
import type { Expressions } from "../route/RowExpressions.js"

/**
 * The resolved configuration every other module consumes. Produced by `ConfigLoader` from one YAML
 * file (plus an optional kuvasz-streamer `map.yaml`), environment overrides, or the zero-config
 * environment form. Secrets (URLs carry passwords, the API token) stay `Redacted` until the driver call.
 */
export type TableMode = "clone" | "append" | "history"

export interface HistoryColumns {
  readonly start: string
  readonly end: string
  readonly deleted: string
  readonly lsn: string
}

export interface TableMapping {
  /** source schema (from `schema.table` keys, else the default schema) */
  readonly schema: string
  /** source table name */
  readonly name: string
  readonly mode: TableMode
  /** destination table name (in the destination schema); defaults to the source name */
  readonly target: string
  /** regex matched against leaf partition names of a partitioned source parent (unanchored, as kuvasz) */
  readonly partitionsRegex: string | undefined
  /** create the destination table from the source definition when missing */
  readonly autoCreate: boolean
  readonly history: HistoryColumns
  /**
   * initial sync into a destination that already has rows: clear the target (or this sid's rows) then copy,
   * or upsert the copied rows keeping the others (append: add them); default upsert for append, else truncate
   */
  readonly existingRows?: ExistingRows
  /** CEL `filter` and `set` (kuvasz-streamer's keys), absent when the table has neither */
  readonly expressions?: Expressions
  /**
   * history: start of the version a streamed insert opens: the source commit time (default) or, as
   * kuvasz-streamer does, its sentinel 1900-01-01
   */
  readonly firstVersionStart?: FirstVersionStart
  /** history: add the position column when the target lacks it (default true) */
  readonly addPositionColumn?: boolean
  /** a table found by a wildcard key (absent for tables named in the mapping) */
  readonly wildcard?: WildcardMatch
}

/** where a wildcard-matched table exists: the sids whose source has it now, and those that dropped it */
export interface WildcardMatch {
  /** the wildcard key that matched it */
  readonly key: string
  readonly present: ReadonlyArray<string>
  /** sids whose source had it earlier in this process and dropped it: kept streaming what came before the DROP */
  readonly dropped: ReadonlyArray<string>
}

/** a wildcard key: every source table matching `schema`.`name` (globs) is mapped with `template`'s options */
export interface TableWildcard {
  readonly key: string
  readonly schema: string
  readonly name: string
  /** the entry's options; its schema, name and target are replaced by each match's */
  readonly template: TableMapping
}

/** reconcile: history only, the copy is merged into the versions already there (HistoryReconcile) */
export type ExistingRows = "truncate" | "upsert" | "reconcile"

export type FirstVersionStart = "commit" | "sentinel"

/**
 * source DDL capture (see src/ddl): `off` leaves the source alone (schema changes are followed from relation
 * messages: new columns only), `capture` installs walferry's event trigger and applies captured DDL in stream
 * order, `remove` uninstalls it
 */
export type DdlMode = "off" | "capture" | "remove"

export interface SourceUrl {
  readonly url: Redacted.Redacted<string>
  readonly sid: string
}

export interface SourceGroup {
  /** database group name: used in slot/publication names and metric labels */
  readonly database: string
  readonly urls: ReadonlyArray<SourceUrl>
  readonly tables: ReadonlyArray<TableMapping>
  /** wildcard keys, in file order: expanded against each source's catalog before every run (mapping/Wildcards) */
  readonly wildcards?: ReadonlyArray<TableWildcard>
  /** initial-sync rate limit of each source URL of this group (on top of the global `tuning` limits) */
  readonly syncRateRows?: number
  readonly syncRateBytes?: number
  /** DDL capture of this group's source URLs; absent means off */
  readonly ddl?: DdlMode
  /** map_mode database: the group's id in the stored mapping (the API's db_id) */
  readonly id?: number
}

export interface Tuning {
  readonly writers: number
  readonly batchSize: number
  readonly commitIntervalMs: number
  /** a batch of batchMinRows / 32 to batchMinRows - 1 changes waits about batchLingerMs for more (0 ms: never) */
  readonly batchMinRows: number
  /** also: a smaller batch waits until about batchLingerMs after the writer's previous batch (see writers/Batching) */
  readonly batchLingerMs: number
  /** batches of at most this many rows that are ready together share one destination round trip (0: never) */
  readonly batchRoundRows: number
  readonly mailboxCapacity: number
  readonly statusIntervalMs: number
  readonly syncParallelism: number
  readonly syncChunkRows: number
  /** rows per second for initial sync, undefined = unlimited */
  readonly syncRateRows: number | undefined
  readonly syncRateBytes: number | undefined
  readonly shutdownTimeoutMs: number
}

export interface ApiConfig {
  readonly enabled: boolean
  readonly host: string
  readonly port: number
  readonly token: Redacted.Redacted<string> | undefined
  /** how often the console's time series are sampled */
  readonly seriesIntervalMs: number
  /** how far back the console's time series reach (kept in memory) */
  readonly seriesWindowMinutes: number
  /** origins allowed to call the API from a browser (CORS); `*` = any; absent = none */
  readonly corsOrigins?: ReadonlyArray<string>
}

export interface LogConfig {
  readonly level: "trace" | "debug" | "info" | "warning" | "error"
  readonly format: "logfmt" | "json"
}

/** `cluster:` — several walferry processes share the sources (see src/cluster) */
export interface ClusterConfig {
  readonly enabled: boolean
  /** host and port other runners reach this one at; also its runner id */
  readonly runnerHost: string
  readonly runnerPort: number
  /** where the runner server binds (default: the runner address) */
  readonly listenHost: string
  readonly listenPort: number
  /** cluster storage database (default: the destination database) */
  readonly storageUrl: Redacted.Redacted<string>
  /** schema of the cluster tables in the storage database */
  readonly storageSchema: string
  readonly shardLockRefreshMs: number
  readonly shardLockExpirationMs: number
  readonly assignmentRefreshMs: number
  readonly healthCheckMs: number
  /** shards per group; undefined = one per source URL (even spread) */
  readonly shards: number | undefined
}

/** create replication slots as failover slots (Postgres 17+): auto = when the source supports it */
export type FailoverSlots = "auto" | "on" | "off"

/** a slot gone although tables were synced from it: stop that source (SlotLost), or recreate it and copy again */
export type OnLostSlot = "stop" | "resync"

export interface SequencesConfig {
  /** copy sequences to the destination this often while running; 0 = only on demand (API, cutover) */
  readonly syncIntervalMs: number
  /** the destination is set to the source's last value + margin (never moved backwards) */
  readonly margin: number
  /** sequences copied besides those owned by mapped columns, `schema.sequence` (same name on the destination) */
  readonly extra: ReadonlyArray<string>
}

export const defaultSequences: SequencesConfig = { syncIntervalMs: 60_000, margin: 1000, extra: [] }

export interface WalferryConfig {
  /** where the config came from (file path, or "environment") for messages */
  readonly origin: string
  readonly destination: {
    readonly url: Redacted.Redacted<string>
    readonly schema: string
    /**
     * replication origin name (kuvasz's `database.origin`): every destination session applying changes runs
     * under its own origin `walferry_<origin>_<backend pid>`, so a reader of the destination with
     * `source_origin: none` skips what walferry wrote there
     */
    readonly origin?: string
  }
  /** `none`: request pgoutput `origin 'none'` from sources (PostgreSQL 16+), default `any` */
  readonly sourceOrigin?: "any" | "none"
  readonly sources: ReadonlyArray<SourceGroup>
  readonly tuning: Tuning
  readonly api: ApiConfig
  readonly naming: { readonly prefix: string }
  /** absent = auto */
  readonly slots?: { readonly failover: FailoverSlots; readonly onLost?: OnLostSlot }
  /** absent or not enabled: one process, no cluster tables */
  readonly cluster?: ClusterConfig
  readonly log: LogConfig
  /** look for new tables matching wildcard keys this often (ms); 0 or absent = only at run start / on capture */
  readonly wildcardRecheckMs?: number
  /** sequence copying (absent: `defaultSequences`) */
  readonly sequences?: SequencesConfig
  /** true when the mapping came from YAML (the API then serves it read-only) */
  readonly mapReadOnly: boolean
  /** where the mapping lives: the YAML (default, read-only through the API) or the destination database */
  readonly mapMode?: MapMode
  /** map_mode database: the defaults of tables added through the API (auto_create, history options) */
  readonly tableDefaults?: {
    readonly autoCreate: boolean
    readonly firstVersionStart: FirstVersionStart
    readonly addPositionColumn: boolean
  }
}

export type MapMode = "yaml" | "database"
