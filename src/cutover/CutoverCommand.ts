/**
 * `walferry cutover` as an Effect main.ts runs: loads the configuration, runs the steps (or only `--unblock`),
 * prints each step with its time and a verdict, and yields the exit code: 0 safe to switch (or unblocked),
 * 1 not safe (what is still different is printed), 2 configuration error. Never fails.
 */
import { expandConfig } from "../mapping/Wildcards.js"
import { Console, Effect, Either } from "effect"
import type { CutoverFlags } from "../cli/CommandSpecs.js"
import { loadConfig } from "../config/ConfigLoader.js"
import { redactSecrets } from "../telemetry/Logging.js"
import { runCutover, unblockStep, type CutoverReport, type StepResult } from "./Cutover.js"

const seconds = (ms: number) => `${(ms / 1000).toFixed(2)} s`

const stepLine = (s: StepResult, i: number) =>
  `  ${i + 1}. ${s.step.padEnd(13)}${seconds(s.millis).padStart(9)}  ${s.ok ? "ok  " : "FAIL"}  ${s.summary}`

export const renderCutover = (report: CutoverReport): string => {
  const lines = ["walferry cutover", ...report.steps.map(stepLine)]
  const failed = report.steps.find((s) => !s.ok)
  if (report.safe) {
    lines.push(`safe to switch (${seconds(report.millis)}): every change is applied and confirmed, sequences are`)
    lines.push("ahead of the source and every mapped table is equal. Point the application at the destination.")
  } else {
    lines.push(`NOT safe to switch (${seconds(report.millis)}): step ${failed?.step ?? "?"} failed:`)
    for (const p of failed?.problems ?? []) lines.push(...p.split("\n").map((l) => `  ${l}`))
  }
  if (report.steps.some((s) => s.step === "block-writes" && s.ok)) {
    lines.push("Writes on the source are blocked; undo with: walferry cutover --unblock")
  }
  return lines.join("\n")
}

export const cutoverCommand = (options: {
  readonly config?: string | undefined
  readonly flags: CutoverFlags
  readonly env?: Record<string, string | undefined>
}): Effect.Effect<number> =>
  Effect.gen(function* () {
    const loaded = yield* Effect.either(loadConfig({ file: options.config, env: options.env ?? process.env }))
    if (Either.isLeft(loaded)) {
      yield* Console.error(redactSecrets(`walferry: ${loaded.left.message}`))
      return 2
    }
    const { config, warnings } = yield* expandConfig(loaded.right.config)
    for (const w of warnings) yield* Console.error(redactSecrets(`walferry cutover: ${w}`))
    const { flags } = options
    if (flags.unblock) {
      const step = yield* unblockStep(config)
      yield* Console.log(
        flags.json ? JSON.stringify(step, null, 2) : `walferry cutover --unblock\n${stepLine(step, 0)}`
      )
      return step.ok ? 0 : 1
    }
    const report = yield* runCutover(config, flags)
    yield* Console.log(flags.json ? JSON.stringify(report, null, 2) : renderCutover(report))
    return report.safe ? 0 : 1
  })
