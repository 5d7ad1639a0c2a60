/**
 * `runVerify(config, options)`: compares every mapped table (or those named) between each source URL and
 * the destination and returns a typed report; exported from the package and used by `walferry verify`.
 * Per source URL: wait until the destination has what the source had at the start (CatchUp), then per
 * table plan key ranges on the source (ChunkPlanner), compare them `parallelism` at a time, both sides at
 * once, narrowing differing ones down to rows (Narrowing); differing rows are re-checked, `settleMs` apart,
 * up to `settleRounds` times, so changes still in flight settle. With `repair`, the differing ranges are
 * copied again (Repair) and the table compared once more; the report then holds that second comparison.
 * Tables are read only (except by repair); a table that cannot be compared is reported with its error.
 */
import { liveTables } from "../mapping/Wildcards.js"
import { Effect, Either } from "effect"
import type { SourceGroup, SourceUrl, TableMapping, WalferryConfig } from "../config/Config.js"
import { planChunks } from "../sync/copy/ChunkPlanner.js"
import { byTarget } from "../sync/SyncContext.js"
import { awaitCatchUp } from "./CatchUp.js"
import { compareKeyless, compareLeaf, compareRange, conditionsOf, type Leaf, type RangeResult } from "./Narrowing.js"
import { repairTable } from "./Repair.js"
import { reconcile, type RowDifference } from "./RowDiff.js"
import { openPool, VerifyFailed, VerifyUsageError, withClient, type VerifyDb } from "./VerifyDb.js"
import { describeVerifyTable, type VerifyTable } from "./VerifyTable.js"
import {
  reportVerdict,
  verdictOf,
  type CatchUp,
  type KeyText,
  type RepairSummary,
  type TableReport,
  type VerifyReport
} from "./VerifyReport.js"

export interface VerifyOptions {
  /** destination table names, or source `schema.table` / `table` names; all mapped tables when empty */
  readonly tables?: ReadonlyArray<string>
  /** copy differing ranges again, then compare again */
  readonly repair?: boolean
  /** ranges compared at once (each uses one connection per side); default tuning.sync_parallelism */
  readonly parallelism?: number
  /** rows per top-level range; default 50,000 */
  readonly rangeRows?: number
  /** ranges of at most this many rows are compared row by row; default 1,000 */
  readonly leafRows?: number
  /** sub-ranges a differing range is split into; default 16 */
  readonly fanout?: number
  /** re-checks of differing rows while a walferry streams the source (none when its slot is inactive); default 5 */
  readonly settleRounds?: number
  /** wait before each re-check; default 1,000 ms */
  readonly settleMs?: number
  /** how long to wait for the destination to reach the source's start position; default 30,000 ms, 0 = not */
  readonly catchUpMs?: number
  /** keys listed per kind and table; default 100 */
  readonly maxKeys?: number
}

type Settings = Required<Omit<VerifyOptions, "tables">>

interface Job {
  readonly group: SourceGroup
  readonly url: SourceUrl
  readonly mapping: TableMapping
}

const matches = (config: WalferryConfig, m: TableMapping, name: string) =>
  name === m.target ||
  name === `${config.destination.schema}.${m.target}` ||
  name === m.name ||
  name === `${m.schema}.${m.name}`

/** the (source URL, table) pairs to compare; an unknown name is a usage error */
export const selectJobs = (
  config: WalferryConfig,
  names: ReadonlyArray<string>
): Either.Either<ReadonlyArray<Job>, VerifyUsageError> => {
  const unknown = names.filter((n) => !config.sources.some((g) => g.tables.some((m) => matches(config, m, n))))
  if (unknown.length > 0) {
    const known = [...new Set(config.sources.flatMap((g) => g.tables.map((m) => m.target)))].join(", ")
    return Either.left(
      new VerifyUsageError({
        message: `--table ${unknown.join(", ")}: not a mapped table (mapped: ${known || "none"})`
      })
    )
  }
  return Either.right(
    config.sources.flatMap((group) =>
      group.urls.flatMap((url) =>
        byTarget(liveTables(group.tables, url.sid))
          .filter((m) => names.length === 0 || names.some((n) => matches(config, m, n)))
          .map((mapping) => ({ group, url, mapping }))
      )
    )
  )
}

const counts = (d: RowDifference, t: VerifyTable) => t.mode !== "append" || d.kind !== "extra"

interface Compared {
  readonly ranges: number
  readonly differingRanges: number
  readonly sourceRows: number
  readonly destinationRows: number
  readonly leaves: ReadonlyArray<Leaf>
  readonly rounds: number
  readonly texts: ReadonlyMap<string, string>
}

const firstPass = (db: VerifyDb, t: VerifyTable, s: Settings) =>
  Effect.gen(function* () {
    if (t.key.length === 0) {
      const r = yield* compareKeyless(db, t, s.maxKeys)
      return { results: [r as RangeResult], texts: r.texts }
    }
    const plan = yield* withClient(db.source, t.label, (c) =>
      planChunks(c, t.sync, s.rangeRows).pipe(
        Effect.mapError((e) => new VerifyFailed({ table: t.label, message: e.message }))
      )
    )
    const conditions = yield* conditionsOf(db, t, plan.chunks)
    const narrow = { leafRows: s.leafRows, fanout: s.fanout }
    const results = yield* Effect.forEach(plan.chunks, (r, i) => compareRange(db, t, r, conditions[i]!, narrow), {
      concurrency: s.parallelism
    })
    return { results, texts: new Map<string, string>() }
  })

const compareTable = (db: VerifyDb, t: VerifyTable, s: Settings): Effect.Effect<Compared, VerifyFailed> =>
  Effect.gen(function* () {
    const first = yield* firstPass(db, t, s)
    let texts = first.texts
    let leaves: ReadonlyArray<Leaf> = first.results.flatMap((r) => r.leaves)
    let rounds = 1
    const settled = (l: Leaf) => !l.diffs.some((d) => counts(d, t))
    while (rounds <= s.settleRounds && !leaves.every(settled)) {
      yield* Effect.sleep(s.settleMs)
      rounds++
      if (t.key.length === 0) {
        const again = yield* compareKeyless(db, t, s.maxKeys)
        leaves = again.leaves
        texts = again.texts
      } else {
        const again = yield* Effect.forEach(
          leaves.filter((l) => !settled(l)),
          (l) => compareLeaf(db, t, l.range, l.condition),
          { concurrency: s.parallelism }
        )
        leaves = [...leaves.filter(settled), ...again]
      }
    }
    return {
      ranges: first.results.length,
      differingRanges: first.results.filter((r) => r.leaves.length > 0).length,
      sourceRows: first.results.reduce((n, r) => n + r.source.rows, 0),
      destinationRows: first.results.reduce((n, r) => n + r.destination.rows, 0),
      leaves: leaves.filter((l) => l.diffs.length > 0),
      rounds,
      texts
    }
  })

const keyTextOf =
  (t: VerifyTable, texts: ReadonlyMap<string, string>) =>
  (d: RowDifference): KeyText =>
    t.key.length === 0
      ? { row: texts.get(d.hash) ?? `(row hash ${d.hash})` }
      : Object.fromEntries(t.key.map((k, i) => [k, d.key[i] ?? null]))

const tableReport = (t: VerifyTable, c: Compared, s: Settings, millis: number): TableReport => {
  const all = c.leaves.flatMap((l) => l.diffs)
  const diffs = t.key.length === 0 ? all : reconcile(all)
  const of = (kind: RowDifference["kind"]) => diffs.filter((d) => d.kind === kind)
  const keys = (kind: RowDifference["kind"]) => of(kind).slice(0, s.maxKeys).map(keyTextOf(t, c.texts))
  const append = t.mode === "append"
  const base = {
    table: t.label,
    target: t.target,
    source: t.source,
    sid: t.sid,
    mode: t.mode,
    keyed: t.key.length > 0,
    columns: t.columns,
    sourceRows: c.sourceRows,
    destinationRows: c.destinationRows,
    ranges: c.ranges,
    differingRanges: c.differingRanges,
    missing: of("missing").length,
    extra: append ? 0 : of("extra").length,
    different: of("different").length,
    extraAllowed: append ? of("extra").length : 0,
    keys: { missing: keys("missing"), extra: append ? [] : keys("extra"), different: keys("different") },
    rounds: c.rounds,
    millis
  }
  return { ...base, verdict: verdictOf(base) }
}

const failedReport = (job: Job, message: string, millis: number): TableReport => ({
  table: `${job.mapping.schema}.${job.mapping.name}`,
  target: job.mapping.target,
  source: `${job.group.database}/${job.url.sid}`,
  sid: undefined,
  mode: job.mapping.mode,
  keyed: false,
  columns: [],
  sourceRows: 0,
  destinationRows: 0,
  ranges: 0,
  differingRanges: 0,
  missing: 0,
  extra: 0,
  different: 0,
  extraAllowed: 0,
  keys: { missing: [], extra: [], different: [] },
  rounds: 0,
  millis,
  verdict: "error",
  error: message
})

interface Outcome {
  readonly report: TableReport
  readonly table: VerifyTable | undefined
  readonly leaves: ReadonlyArray<Leaf>
}

const verifyJob = (config: WalferryConfig, db: VerifyDb, job: Job, s: Settings): Effect.Effect<Outcome> => {
  const started = Date.now()
  return Effect.gen(function* () {
    const t = yield* withClient(db.source, job.mapping.name, (src) =>
      withClient(db.destination, job.mapping.name, (dst) =>
        describeVerifyTable(src, dst, config.destination.schema, job.group.database, job.url, job.mapping)
      )
    )
    const c = yield* compareTable(db, t, s)
    const report = tableReport(t, c, s, Date.now() - started)
    return { report, table: t, leaves: c.leaves.filter((l) => l.diffs.some((d) => counts(d, t))) }
  }).pipe(
    Effect.catchAll((e) =>
      Effect.succeed({ report: failedReport(job, e.message, Date.now() - started), table: undefined, leaves: [] })
    )
  )
}

const repairJob = (config: WalferryConfig, db: VerifyDb, job: Job, first: Outcome, s: Settings) =>
  Effect.gen(function* () {
    if (first.report.verdict !== "different" || first.table === undefined) return first.report
    const repaired: RepairSummary = yield* repairTable(db, first.table, first.leaves).pipe(
      Effect.catchAll((e) => Effect.succeed({ ranges: 0, rows: 0, skipped: `repair failed: ${e.message}` }))
    )
    if (repaired.skipped !== undefined) return { ...first.report, repaired }
    const again = yield* verifyJob(config, db, job, s)
    return { ...again.report, repaired }
  })

const settingsOf = (config: WalferryConfig, o: VerifyOptions): Settings => ({
  repair: o.repair ?? false,
  parallelism: Math.max(1, o.parallelism ?? config.tuning.syncParallelism),
  rangeRows: o.rangeRows ?? 50_000,
  leafRows: o.leafRows ?? 1_000,
  fanout: Math.max(2, o.fanout ?? 16),
  settleRounds: o.settleRounds ?? 5,
  settleMs: o.settleMs ?? 1_000,
  catchUpMs: o.catchUpMs ?? 30_000,
  maxKeys: o.maxKeys ?? 100
})

/** compares the mapped tables; fails only on a bad request (unknown table), never on a difference */
export const runVerify = (
  config: WalferryConfig,
  options: VerifyOptions = {}
): Effect.Effect<VerifyReport, VerifyUsageError> =>
  Effect.gen(function* () {
    const started = Date.now()
    const s = settingsOf(config, options)
    const jobs = yield* selectJobs(config, options.tables ?? [])
    const destination = yield* openPool(config.destination.url, s.parallelism, "walferry_verify")
    const tables: Array<TableReport> = []
    const catchUp: Array<CatchUp> = []
    const urls = [...new Set(jobs.map((j) => j.url))]
    for (const url of urls) {
      const mine = jobs.filter((j) => j.url === url)
      const group = mine[0]!.group
      yield* Effect.scoped(
        Effect.gen(function* () {
          const source = yield* openPool(url.url, s.parallelism, `walferry_verify_${group.database}`)
          const db: VerifyDb = { source, destination }
          let settings = s
          if (s.catchUpMs > 0) {
            const c = yield* awaitCatchUp(config, group, url, db, s.catchUpMs).pipe(Effect.either)
            if (Either.isLeft(c)) {
              for (const job of mine) tables.push(failedReport(job, `source unreachable: ${c.left.message}`, 0))
              return
            }
            catchUp.push(c.right)
            // nothing streams from a source without an active slot: a difference there will not settle
            if (c.right.state === "inactive" || c.right.state === "no-slot") settings = { ...s, settleRounds: 0 }
          }
          for (const job of mine) {
            const first = yield* verifyJob(config, db, job, settings)
            tables.push(s.repair ? yield* repairJob(config, db, job, first, settings) : first.report)
          }
        })
      )
    }
    return {
      verdict: reportVerdict(tables),
      tables,
      catchUp,
      repaired: s.repair,
      millis: Date.now() - started
    } satisfies VerifyReport
  }).pipe(Effect.scoped)
