/**
 * One sequence copy pass: for every source URL, plan the pairs (SequencePlan), read each source sequence's
 * last value, and raise the destination sequence to `last value + margin` when it is below that. A
 * destination sequence is never moved backwards: the comparison and the setval run in one statement on
 * the destination. When several sources feed one destination sequence the largest source value wins.
 * Nothing fails the pass: an unreachable server, a missing counterpart or a denied setval is reported in
 * that sequence's state.
 */
import { Effect } from "effect"
import type pg from "pg"
import type { SourceGroup, SourceUrl, WalferryConfig } from "../config/Config.js"
import { openClient } from "../lib/openClient.js"
import { query } from "../lib/Sql.js"
import { clientConfig } from "../source/SourceClient.js"
import { redactSecrets } from "../telemetry/Logging.js"
import { missingExtras, planSequences, type SequencePair } from "./SequencePlan.js"

export interface SequenceState {
  /** destination sequence (or the source one when the destination has none) */
  readonly sequence: string
  readonly sources: ReadonlyArray<{ readonly source: string; readonly sequence: string; readonly owner: string }>
  /** largest source last value (bigint as text); null when never used or unreadable */
  readonly sourceValue: string | null
  /** destination last value after this pass */
  readonly destinationValue: string | null
  /** true when this pass moved the destination */
  readonly advanced: boolean
  readonly lastSyncAt: string | null
  readonly error: string | null
}

const messageOf = (e: unknown) => redactSecrets(e instanceof Error ? e.message : String(e))

const LAST = `select pg_sequence_last_value($1::regclass)::text as v, s.seqincrement::text as inc
  from pg_sequence s where s.seqrelid = $1::regclass`

/** raises `$1` to `$2` only when below it; `before` is the value it had (last used, or start - increment) */
const RAISE = `
with cur as (
  select coalesce(pg_sequence_last_value($1::regclass), s.seqstart - s.seqincrement) as v, s.seqmax as max
  from pg_sequence s where s.seqrelid = $1::regclass)
select cur.v::text as before,
  case when cur.v < least($2::bigint, cur.max) then setval($1::regclass, least($2::bigint, cur.max), true)::text end
    as after
from cur`

interface Entry {
  readonly pair: SequencePair
  readonly source: string
  value: bigint | undefined
  error: string | undefined
}

const sourceLabel = (group: SourceGroup, url: SourceUrl) =>
  url.sid === "" ? group.database : `${group.database}/${url.sid}`

const readSource = (config: WalferryConfig, group: SourceGroup, url: SourceUrl, destination: pg.ClientBase) =>
  Effect.acquireUseRelease(
    Effect.tryPromise(() => openClient(clientConfig(url.url, "walferry_sequences"))),
    (client) =>
      Effect.gen(function* () {
        const label = sourceLabel(group, url)
        const pairs = yield* planSequences(config, group, client, destination)
        const entries: Array<Entry> = []
        for (const pair of pairs) {
          const rows = yield* Effect.either(query<{ v: string | null; inc: string }>(client, LAST, [pair.source]))
          if (rows._tag === "Left") {
            entries.push({ pair, source: label, value: undefined, error: rows.left.message })
            continue
          }
          const row = rows.right[0]
          const descending = row !== undefined && BigInt(row.inc) < 0n
          entries.push({
            pair,
            source: label,
            value: row?.v === null || row === undefined || descending ? undefined : BigInt(row.v),
            error: descending ? "descending sequence: not copied" : undefined
          })
        }
        for (const name of yield* missingExtras(config, client)) {
          const pair = { source: name, destination: undefined, owner: "extra" }
          entries.push({ pair, source: label, value: undefined, error: "no such sequence on the source" })
        }
        return entries
      }),
    (client) => Effect.promise(() => client.end().catch(() => undefined))
  ).pipe(
    Effect.catchAll((e) =>
      Effect.succeed<Array<Entry>>([
        {
          pair: { source: "*", destination: undefined, owner: "*" },
          source: sourceLabel(group, url),
          value: undefined,
          error: `cannot read sequences of source ${sourceLabel(group, url)}: ${messageOf(e)}`
        }
      ])
    )
  )

const raise = (destination: pg.ClientBase, sequence: string, entries: ReadonlyArray<Entry>, margin: number) =>
  Effect.gen(function* () {
    const values = entries.flatMap((e) => (e.value === undefined ? [] : [e.value]))
    const max = values.length === 0 ? undefined : values.reduce((a, b) => (a > b ? a : b))
    const errors = entries.flatMap((e) => (e.error === undefined ? [] : [e.error]))
    const base = {
      sequence,
      sources: entries.map((e) => ({ source: e.source, sequence: e.pair.source, owner: e.pair.owner })),
      sourceValue: max === undefined ? null : max.toString()
    }
    if (entries[0]!.pair.destination === undefined) {
      const error = errors[0] ?? "no counterpart on the destination (not copied)"
      return { ...base, destinationValue: null, advanced: false, lastSyncAt: null, error }
    }
    const target = max === undefined ? undefined : max + BigInt(margin)
    const rows =
      target === undefined
        ? yield* query<{ before: string | null }>(destination, LAST.replace("as v,", "as before,"), [sequence])
        : yield* query<{ before: string | null; after: string | null }>(destination, RAISE, [
            sequence,
            target.toString()
          ])
    const row = rows[0] as { before: string | null; after?: string | null } | undefined
    const after = row?.after ?? null
    return {
      ...base,
      destinationValue: after ?? row?.before ?? null,
      advanced: after !== null,
      lastSyncAt: new Date().toISOString(),
      error: errors[0] ?? null
    }
  }).pipe(
    Effect.catchAll((e) =>
      Effect.succeed<SequenceState>({
        sequence,
        sources: entries.map((x) => ({ source: x.source, sequence: x.pair.source, owner: x.pair.owner })),
        sourceValue: null,
        destinationValue: null,
        advanced: false,
        lastSyncAt: null,
        error: messageOf(e)
      })
    )
  )

/** copies every planned sequence once; one state per destination sequence */
export const syncSequences = (config: WalferryConfig): Effect.Effect<ReadonlyArray<SequenceState>> =>
  Effect.acquireUseRelease(
    Effect.tryPromise(() => openClient(clientConfig(config.destination.url, "walferry_sequences"))),
    (destination) =>
      Effect.gen(function* () {
        const margin = config.sequences?.margin ?? 1000
        const reads = config.sources.flatMap((g) => g.urls.map((u) => readSource(config, g, u, destination)))
        const entries = (yield* Effect.all(reads, { concurrency: 4 })).flat()
        const groups = new Map<string, Array<Entry>>()
        for (const e of entries) {
          const key = e.pair.destination ?? `source:${e.source}:${e.pair.source}`
          groups.set(key, [...(groups.get(key) ?? []), e])
        }
        const states: Array<SequenceState> = []
        for (const [key, group] of groups) {
          states.push(yield* raise(destination, group[0]!.pair.destination ?? key.split(":").pop()!, group, margin))
        }
        return states
      }),
    (destination) => Effect.promise(() => destination.end().catch(() => undefined))
  ).pipe(
    Effect.catchAll((e) =>
      Effect.succeed<ReadonlyArray<SequenceState>>([
        {
          sequence: "*",
          sources: [],
          sourceValue: null,
          destinationValue: null,
          advanced: false,
          lastSyncAt: null,
          error: `cannot connect to the destination: ${messageOf(e)}`
        }
      ])
    ),
    Effect.withSpan("Sequences.sync")
  )
