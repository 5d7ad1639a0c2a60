/**
 * Command-line parsing on @effect/cli: `walferry [run|check|verify|cutover] [options]`, `--help`, `--version`.
 * `parseArgs` only parses (the commands run in main.ts); a bad command line is a `UsageError` (exit 2).
 * Kept from the hand-written parser: no command means `run`, `--config` may come before the command,
 * `help`/`version` as words, and `walferry --help` prints `usage` (a command's `--help` its own options).
 */
import * as CliConfig from "@effect/cli/CliConfig"
import * as Descriptor from "@effect/cli/CommandDescriptor"
import * as HelpDoc from "@effect/cli/HelpDoc"
import * as NodeContext from "@effect/platform-node/NodeContext"
import { Data, Effect, Option } from "effect"
import { packageRoot } from "../lib/PackageRoot.js"
import { commandSpecs, configOption, type CommandName } from "./CommandSpecs.js"
import type { CutoverFlags, VerifyFlags } from "./CommandSpecs.js"

export type Command =
  | { readonly _tag: "Run"; readonly config?: string }
  | { readonly _tag: "Check"; readonly config?: string }
  | { readonly _tag: "Verify"; readonly config?: string; readonly flags: VerifyFlags }
  | { readonly _tag: "Cutover"; readonly config?: string; readonly flags: CutoverFlags }
  | { readonly _tag: "Help"; readonly text: string }
  | { readonly _tag: "Version" }

/** A bad command line: print the message and `usage`, exit 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {
  readonly exitCode = 2
}

export const usage = `Usage: walferry [run] [--config FILE]
       walferry check [--config FILE]
       walferry verify [--config FILE] [--table T]... [--repair] [--parallelism N] [--json]
       walferry cutover [--config FILE] [--max-lag BYTES] [--block-writes | --unblock] [--timeout S]
                        [--drain-timeout S] [--skip-verify]
       walferry --help | --version | <command> --help

Commands:
  run      stream changes from the sources to the destination (default)
  check    load and validate the configuration, print a summary, exit
  verify   compare every mapped table between source and destination, exit 0 only when equal
  cutover  guided switch to the destination: lag, (block writes), catch up, sync sequences, verify

Options:
  -c, --config FILE   walferry YAML configuration (see config/example.yaml)
  -h, --help          show this help (after a command: that command's options)
  -V, --version       print the version

Without --config, the configuration comes from the environment: SOURCE_URL, TARGET_URL and TABLES
(optional SOURCE_SID, SOURCE_DATABASE). Any setting can be overridden with WALFERRY_<SECTION>__<KEY>,
e.g. WALFERRY_TUNING__BATCH_SIZE=500, WALFERRY_LOG__LEVEL=debug.

Exit codes: 0 ok, 1 runtime failure (verify: differences; cutover: not safe to switch), 2 usage or
configuration error.
`

const root = Descriptor.make("walferry", configOption).pipe(
  Descriptor.withDescription("PostgreSQL change-data-capture streamer"),
  Descriptor.withSubcommands([
    ["Run", commandSpecs.run],
    ["Check", commandSpecs.check],
    ["Verify", commandSpecs.verify],
    ["Cutover", commandSpecs.cutover]
  ])
)

const cliConfig = CliConfig.make({ showBuiltIns: false, finalCheckBuiltIn: true })

const plain = (doc: HelpDoc.HelpDoc) =>
  HelpDoc.toAnsiText(doc)
    .replace(/\u001b\[[0-9;]*m/g, "")
    .trim()

const usageError = (message: string) => new UsageError({ message })

const commandNames = new Set<string>(["run", "check", "verify", "cutover"])

/** Parses `process.argv.slice(2)`. */
export const parseArgs = (argv: ReadonlyArray<string>): Effect.Effect<Command, UsageError> =>
  Effect.gen(function* () {
    if (argv[0] === "help") return { _tag: "Help", text: usage } as const
    if (argv[0] === "version") return { _tag: "Version" } as const
    if (argv.includes("-V")) return { _tag: "Version" } as const
    const commandAt = argv.findIndex((a) => commandNames.has(a))
    const helpAsked = argv.includes("--help") || argv.includes("-h")
    const configAt = argv.flatMap((a, i) => (isConfigFlag(a) ? [i] : []))
    for (const i of configAt) {
      const arg = argv[i]!
      const value = arg.includes("=") ? arg.slice(arg.indexOf("=") + 1) : argv[i + 1]
      if (value === undefined || value === "" || (value.startsWith("-") && value.length > 1)) {
        return yield* usageError(`${arg.split("=")[0]} needs a file path`)
      }
    }
    if (configAt.length > 1) return yield* usageError("--config given twice")
    if (helpAsked) return { _tag: "Help", text: commandHelp(argv[commandAt] as CommandName) } as const
    const directive = yield* Descriptor.parse(root, ["walferry", ...argv], cliConfig).pipe(
      Effect.mapError((e) =>
        usageError(explain(argv, commandAt) ?? (plain(e.error) || `invalid command line (${e._tag})`))
      ),
      Effect.provide(NodeContext.layer)
    )
    if (directive._tag === "BuiltIn") {
      const option = directive.option
      if (option._tag === "ShowVersion") return { _tag: "Version" } as const
      return yield* usageError(`unsupported option ${argv.find((a) => a.startsWith("--")) ?? ""}`.trim())
    }
    const extra = directive.leftover[0]
    if (extra !== undefined) {
      if (!extra.startsWith("-")) return yield* usageError(`unexpected argument ${extra}`)
      const name = argv[commandAt] as CommandName | undefined
      const known = name !== undefined && commandHelp(name).includes(extra.split("=")[0]!)
      return yield* usageError(known ? `${extra} needs a value` : `unknown option ${extra}`)
    }
    const { options: rootConfig, subcommand } = directive.value
    const sub = Option.getOrUndefined(subcommand)
    const own = sub === undefined ? Option.none<string>() : sub[1].options.config
    if (Option.isSome(rootConfig) && Option.isSome(own)) return yield* usageError("--config given twice")
    const config = Option.getOrUndefined(Option.orElse(own, () => rootConfig))
    const withConfig = <A extends object>(a: A) => (config === undefined ? a : { ...a, config })
    if (sub === undefined) return withConfig({ _tag: "Run" as const })
    switch (sub[0]) {
      case "Run":
      case "Check":
        return withConfig({ _tag: sub[0] })
      case "Verify":
        return withConfig({ _tag: sub[0], flags: sub[1].options.own })
      case "Cutover":
        return withConfig({ _tag: sub[0], flags: sub[1].options.own })
    }
  })

const isConfigFlag = (arg: string) => arg === "-c" || arg === "--config" || arg.startsWith("--config=")

/** the first word before the command that is neither an option nor a command: the parser's own message is vaguer */
const explain = (argv: ReadonlyArray<string>, commandAt: number): string | undefined => {
  const end = commandAt < 0 ? argv.length : commandAt
  for (let i = 0; i < end; i++) {
    const arg = argv[i]!
    if (arg === "-c" || arg === "--config") i++
    else if (arg.startsWith("--config=")) continue
    else if (arg.startsWith("-") && arg.length > 1) return `unknown option ${arg}`
    else return `unknown command ${arg}`
  }
  return undefined
}

const commandHelp = (name: CommandName | undefined) =>
  name === undefined
    ? usage
    : `walferry ${name}\n\n${plain(Descriptor.getHelp(commandSpecs[name] as Descriptor.Command<unknown>, cliConfig))}\n`

/** The `version` of walferry's package.json (PackageRoot finds it from src/, dist/ and the bundle alike). */
export const readVersion = (): string => packageRoot()?.version ?? "unknown"
