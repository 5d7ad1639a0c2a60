/**
 * walferry's command line (parsed by cli/Args.ts on @effect/cli): `run` (default), `check`, `verify`,
 * `cutover`, `--help`, `--version`.
 * Exit codes: 0 ok (also after SIGTERM/SIGINT with everything drained), 1 runtime failure,
 * 2 usage or configuration error.
 */
import * as NodeRuntime from "@effect/platform-node/NodeRuntime"
import { Cause, Console, Effect, Either, Exit, Layer } from "effect"
import { parseArgs, readVersion, usage } from "./cli/Args.js"
import { appConfigLayer } from "./config/AppConfig.js"
import { loadConfig } from "./config/ConfigLoader.js"
import { runService, ServiceBaseLive } from "./pipeline/Service.js"
import { armStopDeadline } from "./cli/StopDeadline.js"
import { loggerLayer, redactSecrets } from "./telemetry/Logging.js"
import { TracingLive } from "./telemetry/Tracing.js"

/** a module only some commands need, loaded when one runs: `run` does not carry the others in memory */
const lazy = <A>(load: () => Promise<A>) => Effect.promise(load)

const fail = (code: number, message: string) =>
  Effect.gen(function* () {
    yield* Console.error(redactSecrets(message))
    process.exitCode = code
  })

const program = Effect.gen(function* () {
  const parsed = yield* Effect.either(parseArgs(process.argv.slice(2)))
  if (Either.isLeft(parsed)) return yield* fail(2, `walferry: ${parsed.left.message}\n\n${usage}`)
  const command = parsed.right
  switch (command._tag) {
    case "Help":
      return yield* Console.log(command.text)
    case "Version":
      return yield* Console.log(readVersion())
    case "Verify": {
      const { verifyCommand } = yield* lazy(() => import("./verify/VerifyCommand.js"))
      const { tables, repair, json, parallelism } = command.flags
      process.exitCode = yield* verifyCommand({
        config: command.config,
        tables,
        repair,
        json,
        ...(parallelism === undefined ? {} : { parallelism }),
        env: process.env
      })
      return
    }
    case "Cutover": {
      const { cutoverCommand } = yield* lazy(() => import("./cutover/CutoverCommand.js"))
      process.exitCode = yield* cutoverCommand({ config: command.config, flags: command.flags, env: process.env })
      return
    }
    case "Check":
    case "Run": {
      if (command._tag === "Run" && command.config === undefined) {
        const { runDemo, wantsDemo } = yield* lazy(() => import("./demo/Demo.js"))
        if (wantsDemo(process.env)) return yield* runDemo.pipe(Effect.provide(TracingLive))
      }
      const loaded = yield* Effect.either(loadConfig({ file: command.config, env: process.env }))
      if (Either.isLeft(loaded)) return yield* fail(2, `walferry: ${loaded.left.message}`)
      const { config, warnings } = loaded.right
      const logging = loggerLayer(config.log)
      if (command._tag === "Check") {
        const { exitCode, formatReport, runCheck } = yield* lazy(() => import("./cli/Check.js"))
        const report = yield* runCheck(config)
        yield* Console.log(formatReport(report))
        process.exitCode = exitCode(report)
        return
      }
      yield* armStopDeadline(config.tuning.shutdownTimeoutMs)
      return yield* Effect.gen(function* () {
        for (const w of warnings) yield* Effect.logWarning(w)
        yield* Effect.logInfo(`walferry ${readVersion()} starting (config: ${config.origin})`)
        return yield* runService
      }).pipe(
        Effect.provide(ServiceBaseLive),
        Effect.provide(
          config.cluster?.enabled === true
            ? Layer.unwrapEffect(
                lazy(() => import("./cluster/ClusterRunner.js")).pipe(
                  Effect.map(({ clusterLayer }) =>
                    clusterLayer(
                      config.cluster!,
                      config.sources.reduce((n, g) => n + g.urls.length, 0)
                    )
                  )
                )
              )
            : Layer.empty
        ),
        Effect.provide(Layer.merge(appConfigLayer(config), logging)),
        Effect.provide(TracingLive)
      )
    }
  }
})

program.pipe(
  Effect.tapErrorCause((cause) =>
    Cause.isInterruptedOnly(cause) ? Effect.void : Console.error(redactSecrets(Cause.pretty(cause)))
  ),
  NodeRuntime.runMain({
    disablePrettyLogger: true,
    disableErrorReporting: true,
    teardown: (exit, onExit) =>
      onExit(Exit.isFailure(exit) && !Exit.isInterrupted(exit) ? 1 : Number(process.exitCode ?? 0))
  })
)
