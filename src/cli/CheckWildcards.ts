/**
 * `walferry check` on wildcard keys: the mapping is expanded against each source's catalog first (as a run
 * does), and each key reports, per source URL, the tables it matches now; a key matching nothing, a match
 * skipped for a target another table has, or a source whose tables could not be read is a warning.
 */
import { Effect, Redacted } from "effect"
import type { SourceGroup, WalferryConfig } from "../config/Config.js"
import { expandConfig } from "../mapping/Wildcards.js"
import { maskUrl } from "./CheckConnect.js"
import { findingsOf, info, warning, type Finding } from "./CheckReport.js"

const keyFindings = (group: SourceGroup): Array<Finding> =>
  group.urls.flatMap((url) => {
    const subject = {
      side: "source" as const,
      database: group.database,
      sid: url.sid,
      url: maskUrl(Redacted.value(url.url))
    }
    return (group.wildcards ?? []).flatMap((w) => {
      const names = group.tables
        .filter((t) => t.wildcard?.key === w.key && t.wildcard.present.includes(url.sid))
        .map((t) => `${t.schema}.${t.name}`)
      const issue =
        names.length === 0
          ? warning(`wildcard key "${w.key}" matches no table (yet)`)
          : info(`wildcard key "${w.key}" matches ${names.length} table(s): ${names.join(", ")}`)
      return findingsOf(subject, undefined, [issue])
    })
  })

/** the config with wildcards expanded, and what check reports about them */
export const checkWildcards = (
  config: WalferryConfig
): Effect.Effect<{ readonly config: WalferryConfig; readonly findings: ReadonlyArray<Finding> }> =>
  Effect.map(expandConfig(config), (e) => {
    const general = e.warnings.map((message): Finding => ({
      severity: "warning",
      side: "source",
      database: undefined,
      sid: undefined,
      url: "",
      table: undefined,
      message
    }))
    return { config: e.config, findings: [...general, ...e.config.sources.flatMap(keyFindings)] }
  })
