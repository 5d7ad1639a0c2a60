/**
 * The `walferry verify` command as an Effect the command line (today's src/main.ts, or an @effect/cli
 * command) runs: loads the configuration, compares, prints the report (text, or JSON with `json`) and
 * yields the exit code: 0 every table equal, 1 something differs (or could not be compared), 2 a usage or
 * configuration error. Never fails.
 */
import { expandConfig } from "../mapping/Wildcards.js"
import { Console, Effect, Either } from "effect"
import { loadConfig } from "../config/ConfigLoader.js"
import { redactSecrets } from "../telemetry/Logging.js"
import { runVerify, type VerifyOptions } from "./Verify.js"
import { renderReport, verifyExitCode } from "./VerifyReport.js"

export interface VerifyCommandOptions extends VerifyOptions {
  /** walferry YAML file; without it the environment (zero-config or WALFERRY_* overrides) */
  readonly config?: string | undefined
  /** print the report as JSON */
  readonly json?: boolean
  readonly env?: Record<string, string | undefined>
}

export const verifyCommand = (options: VerifyCommandOptions): Effect.Effect<number> =>
  Effect.gen(function* () {
    const loaded = yield* Effect.either(loadConfig({ file: options.config, env: options.env ?? process.env }))
    if (Either.isLeft(loaded)) {
      yield* Console.error(redactSecrets(`walferry: ${loaded.left.message}`))
      return 2
    }
    const { config, warnings } = yield* expandConfig(loaded.right.config)
    for (const w of warnings) yield* Console.error(redactSecrets(`walferry verify: ${w}`))
    const report = yield* Effect.either(runVerify(config, options))
    if (Either.isLeft(report)) {
      yield* Console.error(`walferry verify: ${report.left.message}`)
      return 2
    }
    yield* Console.log(options.json === true ? JSON.stringify(report.right, null, 2) : renderReport(report.right))
    return verifyExitCode(report.right)
  })
