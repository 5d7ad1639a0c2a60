/** Builds `WalferryConfig` values for tests, with the loader's defaults, without a YAML file. */
import { Redacted } from "effect"
import type { SourceGroup, TableMapping, TableMode, WalferryConfig } from "../../src/config/Config.js"

export interface TableSpec {
  readonly name: string
  readonly schema?: string
  readonly target?: string
  readonly mode?: TableMode
  readonly autoCreate?: boolean
  readonly partitionsRegex?: string
}

export interface GroupSpec {
  readonly database: string
  /** URLs, or `{ url, sid }`; a bare URL gets sid "" when alone, else its index */
  readonly urls: ReadonlyArray<string | { readonly url: string; readonly sid: string }>
  /** "table", "schema.table", or a full spec */
  readonly tables: ReadonlyArray<string | TableSpec>
}

export interface ConfigSpec {
  readonly destination: string
  readonly destinationSchema?: string
  readonly sources: ReadonlyArray<GroupSpec>
  readonly prefix?: string
}

export const tableMapping = (spec: string | TableSpec): TableMapping => {
  const t: TableSpec =
    typeof spec === "string"
      ? spec.includes(".")
        ? { schema: spec.slice(0, spec.indexOf(".")), name: spec.slice(spec.indexOf(".") + 1) }
        : { name: spec }
      : spec
  return {
    schema: t.schema ?? "public",
    name: t.name,
    mode: t.mode ?? "clone",
    target: t.target ?? t.name,
    partitionsRegex: t.partitionsRegex,
    autoCreate: t.autoCreate ?? false,
    history: { start: "kvsz_start", end: "kvsz_end", deleted: "kvsz_deleted", lsn: "kvsz_lsn" }
  }
}

const group = (g: GroupSpec): SourceGroup => ({
  database: g.database,
  urls: g.urls.map((u, i) =>
    typeof u === "string"
      ? { url: Redacted.make(u), sid: g.urls.length === 1 ? "" : String(i + 1) }
      : { url: Redacted.make(u.url), sid: u.sid }
  ),
  tables: g.tables.map(tableMapping)
})

export const walferryConfig = (spec: ConfigSpec): WalferryConfig => ({
  origin: "test fixture",
  destination: { url: Redacted.make(spec.destination), schema: spec.destinationSchema ?? "public" },
  sources: spec.sources.map(group),
  tuning: {
    writers: 4,
    batchSize: 500,
    commitIntervalMs: 100,
    batchMinRows: 256,
    batchLingerMs: 10,
    batchRoundRows: 32,
    mailboxCapacity: 1000,
    statusIntervalMs: 10_000,
    syncParallelism: 2,
    syncChunkRows: 10_000,
    syncRateRows: undefined,
    syncRateBytes: undefined,
    shutdownTimeoutMs: 10_000
  },
  api: {
    enabled: false,
    host: "127.0.0.1",
    port: 0,
    token: undefined,
    seriesIntervalMs: 5000,
    seriesWindowMinutes: 30
  },
  naming: { prefix: spec.prefix ?? "walferry" },
  log: { level: "info", format: "logfmt" },
  mapReadOnly: true
})
