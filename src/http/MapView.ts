import { Redacted } from "effect"
import type { WalferryConfig } from "../config/Config.js"
import { maskUrl } from "../telemetry/Logging.js"

const masked = (url: Redacted.Redacted<string>) => maskUrl(Redacted.value(url))

/** The effective mapping as `GET /api/map` serves it (kuvasz field names; URLs with their password masked). */
export const mapView = (config: WalferryConfig) => ({
  readOnly: config.mapReadOnly,
  destination: { url: masked(config.destination.url), schema: config.destination.schema },
  groups: config.sources.map((g) => ({
    database: g.database,
    sids: g.urls.map((u) => ({ sid: u.sid, url: masked(u.url) })),
    tables: g.tables.map((t) => ({
      schema: t.schema,
      name: t.name,
      mode: t.mode,
      target: t.target,
      partitions_regex: t.partitionsRegex ?? null,
      auto_create: t.autoCreate
    }))
  }))
})
