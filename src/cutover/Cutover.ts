/**
 * `runCutover`: the guided switch to the destination, step by step, each timed, stopping at the first step
 * that fails: lag (every slot within `maxLagBytes`), block-writes (only when asked: SourceWrites),
 * catch-up (every change up to the source's current WAL position applied and confirmed), sequences (copied
 * with the configured margin, never backwards), verify (every mapped table equal). `safe` only when every
 * step passed. Each step is also exported on its own, for the HTTP API. Never fails: errors are step results.
 */
import { Effect, Either } from "effect"
import type { WalferryConfig } from "../config/Config.js"
import { syncSequences, type SequenceState } from "../sequences/SequenceSync.js"
import { redactSecrets } from "../telemetry/Logging.js"
import { runVerify } from "../verify/Verify.js"
import { renderReport, type VerifyReport } from "../verify/VerifyReport.js"
import { sourceCatchUp, sourceLag, sourcesOf, withSource, type SourceCatchUp, type SourceLag } from "./CutoverSteps.js"
import { blockWrites, unblockWrites, type BlockResult } from "./SourceWrites.js"

export type StepName = "lag" | "block-writes" | "catch-up" | "sequences" | "verify" | "unblock"

export interface StepResult {
  readonly step: StepName
  readonly ok: boolean
  readonly millis: number
  /** one line: what was found */
  readonly summary: string
  /** what is still different, or what failed, one entry per item */
  readonly problems: ReadonlyArray<string>
  readonly detail: unknown
}

export interface CutoverOptions {
  readonly maxLagBytes: number
  readonly blockWrites: boolean
  readonly timeoutSeconds: number
  readonly drainTimeoutSeconds: number
  readonly skipVerify: boolean
  readonly parallelism?: number | undefined
}

export interface CutoverReport {
  readonly safe: boolean
  readonly steps: ReadonlyArray<StepResult>
  readonly millis: number
}

const message = (e: unknown) =>
  redactSecrets(
    typeof e === "object" && e !== null && "message" in e ? String((e as { message: unknown }).message) : String(e)
  )

const timed = <A>(
  step: StepName,
  run: Effect.Effect<A, unknown>,
  judge: (a: A) => { summary: string; problems: ReadonlyArray<string> }
): Effect.Effect<StepResult> =>
  Effect.gen(function* () {
    const started = Date.now()
    const result = yield* Effect.either(run)
    const millis = Date.now() - started
    if (Either.isLeft(result)) {
      const problem = message(result.left)
      return { step, ok: false, millis, summary: `failed: ${problem}`, problems: [problem], detail: null }
    }
    const { summary, problems } = judge(result.right)
    return { step, ok: problems.length === 0, millis, summary, problems, detail: result.right }
  }).pipe(Effect.withSpan(`Cutover.${step}`))

const mb = (bytes: number) => (bytes < 1024 * 1024 ? `${bytes} B` : `${(bytes / 1024 / 1024).toFixed(1)} MB`)

export const lagStep = (config: WalferryConfig, maxLagBytes: number) =>
  timed("lag", Effect.forEach(sourcesOf(config), sourceLag, { concurrency: 4 }), (lags: ReadonlyArray<SourceLag>) => ({
    summary: lags.map((l) => `${l.source} ${l.lagBytes === null ? "no slot" : `${mb(l.lagBytes)} behind`}`).join(", "),
    problems: lags.flatMap((l) =>
      l.lagBytes === null
        ? [`${l.source}: replication slot ${l.slot} does not exist (is walferry running?)`]
        : l.lagBytes > maxLagBytes
          ? [`${l.source}: ${mb(l.lagBytes)} behind, more than --max-lag ${mb(maxLagBytes)}: wait and retry`]
          : []
    )
  }))

export const blockStep = (config: WalferryConfig, drainSeconds: number) =>
  timed(
    "block-writes",
    Effect.forEach(sourcesOf(config), (ref) => withSource(ref, (c) => blockWrites(c, drainSeconds * 1000))),
    (results: ReadonlyArray<BlockResult>) => ({
      summary: results.map((r) => `database ${r.database} read-only, ${r.terminated} session(s) terminated`).join(", "),
      problems: []
    })
  )

export const unblockStep = (config: WalferryConfig) =>
  timed(
    "unblock",
    Effect.forEach(sourcesOf(config), (ref) => withSource(ref, unblockWrites)),
    (dbs) => ({
      summary: `default_transaction_read_only reset on ${dbs.join(", ")}`,
      problems: []
    })
  )

export const catchUpStep = (config: WalferryConfig, timeoutSeconds: number) =>
  timed(
    "catch-up",
    Effect.forEach(sourcesOf(config), (ref) => sourceCatchUp(config, ref, timeoutSeconds * 1000), {
      concurrency: 4
    }),
    (results: ReadonlyArray<SourceCatchUp>) => ({
      summary: results.map((r) => `${r.source} confirmed ${r.confirmedLsn ?? "-"} (needed ${r.targetLsn})`).join(", "),
      problems: results.flatMap((r) =>
        r.reached
          ? []
          : [
              `${r.source}: slot ${r.slot} confirmed ${r.confirmedLsn ?? "nothing"}, needs ${r.targetLsn}` +
                (r.active
                  ? ` (still behind after --timeout, or a table is stopped: see /status)`
                  : ` (slot inactive: is walferry running?)`)
            ]
      )
    })
  )

export const sequencesStep = (config: WalferryConfig) =>
  timed("sequences", syncSequences(config), (states: ReadonlyArray<SequenceState>) => {
    const copied = states.filter((s) => s.lastSyncAt !== null && s.error === null)
    const missing = states.filter((s) => s.lastSyncAt === null && s.error?.startsWith("no counterpart"))
    return {
      summary:
        `${copied.length} sequence(s) ahead of the source (${copied.filter((s) => s.advanced).length} advanced)` +
        (missing.length > 0 ? `; no destination counterpart: ${missing.map((s) => s.sequence).join(", ")}` : ""),
      problems: states
        .filter((s) => s.error !== null && !missing.includes(s))
        .map((s) => `sequence ${s.sequence}: ${s.error}`)
    }
  })

export const verifyStep = (config: WalferryConfig, parallelism: number | undefined) =>
  timed("verify", runVerify(config, parallelism === undefined ? {} : { parallelism }), (report: VerifyReport) => ({
    summary: `${report.tables.filter((t) => t.verdict === "equal").length} of ${report.tables.length} table(s) equal`,
    problems: report.verdict === "equal" ? [] : [renderReport(report)]
  }))

export const runCutover = (config: WalferryConfig, options: CutoverOptions): Effect.Effect<CutoverReport> =>
  Effect.gen(function* () {
    const started = Date.now()
    const plan: Array<Effect.Effect<StepResult>> = [
      lagStep(config, options.maxLagBytes),
      ...(options.blockWrites ? [blockStep(config, options.drainTimeoutSeconds)] : []),
      catchUpStep(config, options.timeoutSeconds),
      sequencesStep(config),
      ...(options.skipVerify ? [] : [verifyStep(config, options.parallelism)])
    ]
    const steps: Array<StepResult> = []
    for (const step of plan) {
      const result = yield* step
      steps.push(result)
      if (!result.ok) break
    }
    const safe = steps.length === plan.length && steps.every((s) => s.ok)
    return { safe, steps, millis: Date.now() - started }
  })
