/**
 * `walferry check` on Postgres 17+ sources with `slots.failover` not off: can a standby carry walferry's slot
 * through a failover? On the primary: whether the slot (if it exists) is a failover slot and whether
 * `synchronized_standby_slots` names the standby's physical slot (without it walferry may confirm WAL the
 * standby never received, and a promotion then loses changes silently). On every other host the source URL
 * names that is a standby: `sync_replication_slots`, `hot_standby_feedback`, `primary_slot_name`, `wal_level`
 * and a `dbname` in `primary_conninfo`; that the primary's `synchronized_standby_slots` names its physical slot and
 * its own is empty (else a promoted standby's walsenders wait forever); whether its copy is sync-ready (a
 * temporary copy is lost by a promotion). Findings say what to set; none is an error (streaming works without).
 */
import { Effect, Redacted } from "effect"
import type pg from "pg"
import type { FailoverSlots } from "../config/Config.js"
import { query } from "../lib/Sql.js"
import { expandHosts } from "../source/SourceHosts.js"
import { describeTarget } from "../source/SourceClient.js"
import { connect } from "./CheckConnect.js"
import { info, warning, type Issue } from "./CheckReport.js"
import { connectionUrl } from "../lib/ConnectionUrl.js"

const PRIMARY_SQL = `
  select current_setting('synchronized_standby_slots') as sss,
    (select failover from pg_replication_slots where slot_name = $1) as failover,
    array(select slot_name::text from pg_replication_slots where slot_type = 'physical' order by 1) as physical`

const STANDBY_SQL = `
  select pg_is_in_recovery() as recovery, current_setting('sync_replication_slots') as sync,
    current_setting('hot_standby_feedback') as feedback, current_setting('primary_slot_name') as slot,
    current_setting('wal_level') as wal, current_setting('primary_conninfo') as conninfo,
    current_setting('synchronized_standby_slots') as sss,
    (select synced from pg_replication_slots where slot_name = $1) as synced,
    (select temporary from pg_replication_slots where slot_name = $1) as temporary`

const names = (setting: string) =>
  setting
    .split(",")
    .map((s) => s.trim().replace(/^"|"$/g, ""))
    .filter((s) => s !== "")

const standbyIssues = (url: string, slot: string, primarySss: string): Effect.Effect<Array<Issue>> =>
  Effect.gen(function* () {
    const client = yield* connect(Redacted.make(url))
    const [s] = yield* query<{
      recovery: boolean
      sync: string
      feedback: string
      slot: string
      wal: string
      conninfo: string
      sss: string
      synced: boolean | null
      temporary: boolean | null
    }>(client, STANDBY_SQL, [slot])
    const where = describeTarget(url)
    if (s === undefined || !s.recovery) return []
    const missing: Array<string> = []
    if (s.sync !== "on") missing.push("sync_replication_slots = on")
    if (s.feedback !== "on") missing.push("hot_standby_feedback = on")
    if (s.slot === "") missing.push("primary_slot_name = '<its physical slot on the primary>'")
    if (s.wal !== "logical") missing.push("wal_level = logical")
    if (!/(^|\s)dbname\s*=/.test(s.conninfo)) missing.push("a dbname in primary_conninfo")
    const issues: Array<Issue> = []
    if (s.sss !== "") {
      issues.push(
        warning(
          `standby ${where} has synchronized_standby_slots = '${s.sss}': once promoted, its logical walsenders wait ` +
            `for that slot forever; set it empty on the standby (on the primary only)`
        )
      )
    }
    if (s.slot !== "" && !names(primarySss).includes(s.slot)) {
      issues.push(
        warning(
          `the primary's synchronized_standby_slots does not name standby ${where}'s slot "${s.slot}": walferry ` +
            `may confirm WAL this standby lacks, and a promotion then loses those changes silently`
        )
      )
    }
    if (missing.length > 0) {
      issues.push(warning(`standby ${where} cannot carry slot "${slot}" through a failover: set ${missing.join(", ")}`))
      return issues
    }
    issues.push(
      s.synced === true && s.temporary === false
        ? info(`standby ${where} carries slot "${slot}" (synchronised)`)
        : s.synced === true
          ? warning(
              `standby ${where} holds slot "${slot}" only as a temporary copy (not sync-ready): a promotion now ` +
                `would lose it; it becomes ready once walferry confirms changes newer than the standby's catalog xmin`
            )
          : info(`standby ${where} is set up to carry slot "${slot}" (not synchronised yet)`)
    )
    return issues
  }).pipe(
    Effect.scoped,
    Effect.catchAll((e) => Effect.succeed([warning(`standby ${describeTarget(url)} not inspected: ${e.message}`)]))
  )

export const failoverIssues = (
  client: pg.Client,
  versionNum: number,
  failover: FailoverSlots,
  slot: string,
  configuredUrl: string,
  primaryUrl: string
): Effect.Effect<Array<Issue>> =>
  Effect.gen(function* () {
    if (failover === "off") return []
    if (versionNum < 170000) {
      return failover === "on"
        ? [warning("slots.failover is on but this server is older than Postgres 17: no failover slots")]
        : [
            info(
              "Postgres < 17: the slot is not carried to a standby; after a failover walferry stops this source " +
                "with an error naming the tables to resync (slots.on_lost: resync copies them again instead)"
            )
          ]
    }
    const [p] = yield* query<{ sss: string; failover: boolean | null; physical: ReadonlyArray<string> }>(
      client,
      PRIMARY_SQL,
      [slot]
    )
    const issues: Array<Issue> = []
    if (p?.failover === false) {
      issues.push(
        warning(
          `slot "${slot}" exists without failover: standbys will not carry it ` +
            `(on a replication connection: ALTER_REPLICATION_SLOT "${slot}" (FAILOVER true))`
        )
      )
    }
    const standbyKnown = (p?.physical.length ?? 0) > 0 || expandHosts(configuredUrl).length > 1
    if (p !== undefined && p.sss === "") {
      const advice =
        "walferry may confirm WAL a standby has not received, and a promotion then loses those changes; set it " +
        "to the standby's physical slot"
      issues.push(
        standbyKnown
          ? warning(`synchronized_standby_slots is empty: ${advice} (physical slots here: ${p.physical.join(", ")})`)
          : info(`no standby known (no physical slot); with one, set synchronized_standby_slots: ${advice}`)
      )
    }
    const unknown = names(p?.sss ?? "").filter((n) => !(p?.physical ?? []).includes(n))
    if (unknown.length > 0) {
      issues.push(
        warning(
          `synchronized_standby_slots names ${unknown.join(", ")}, not a physical slot here: logical walsenders ` +
            `(walferry's stream) wait for it forever; name existing standby slots only`
        )
      )
    }
    // the primary's URL is resolved (URL form, sslmode settled): hosts compare by host, port and database
    for (const other of expandHosts(connectionUrl(configuredUrl))) {
      if (describeTarget(other) !== describeTarget(connectionUrl(primaryUrl))) {
        issues.push(...(yield* standbyIssues(other, slot, p?.sss ?? "")))
      }
    }
    return issues
  }).pipe(Effect.catchAll((e) => Effect.succeed([warning(`failover readiness not inspected: ${e.message}`)])))
