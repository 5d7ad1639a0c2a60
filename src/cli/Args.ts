/**
 * Command-line parsing (no dependency): `walferry [run|check] [--config FILE]`, `walferry verify [--config
 * FILE] [--table T]… [--repair] [--parallelism N] [--json]`, `--help`, `--version`.
 */
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { Data, Either } from "effect"

export type Command =
  | { readonly _tag: "Run"; readonly config?: string }
  | { readonly _tag: "Check"; readonly config?: string }
  | {
      readonly _tag: "Verify"
      readonly config?: string
      readonly tables: ReadonlyArray<string>
      readonly repair: boolean
      readonly parallelism?: number
      readonly json: boolean
    }
  | { readonly _tag: "Help" }
  | { readonly _tag: "Version" }

/** A bad command line: print the message and `usage`, exit 2. */
export class UsageError extends Data.TaggedError("UsageError")<{ readonly message: string }> {
  readonly exitCode = 2
}

export const usage = `Usage: walferry [run] [--config FILE]
       walferry check [--config FILE]
       walferry verify [--config FILE] [--table T]... [--repair] [--parallelism N] [--json]
       walferry --help | --version

Commands:
  run      stream changes from the sources to the destination (default)
  check    load and validate the configuration, print a summary, exit
  verify   compare every mapped table between the sources and the destination; exit 0 only when equal

Options:
  -c, --config FILE   walferry YAML configuration (see config/example.yaml)
  -t, --table T       verify: only this table (destination or source name; repeat or comma list)
      --repair        verify: copy the differing ranges again, then compare again
      --parallelism N verify: ranges compared at once (default tuning.sync_parallelism)
      --json          verify: print the report as JSON
  -h, --help          show this help
  -V, --version       print the version

Without --config, the configuration comes from the environment: SOURCE_URL, TARGET_URL and TABLES
(optional SOURCE_SID, SOURCE_DATABASE). Any setting can be overridden with WALFERRY_<SECTION>__<KEY>,
e.g. WALFERRY_TUNING__BATCH_SIZE=500, WALFERRY_LOG__LEVEL=debug.

Exit codes: 0 ok, 1 runtime failure (verify: tables differ), 2 usage or configuration error.
`

const commands = { run: "Run", check: "Check", verify: "Verify" } as const

/** Parses `process.argv.slice(2)`. */
export const parseArgs = (argv: ReadonlyArray<string>): Either.Either<Command, UsageError> => {
  let command: "Run" | "Check" | "Verify" | undefined
  let config: string | undefined
  const tables: Array<string> = []
  let repair = false
  let json = false
  let parallelism: number | undefined
  let help = false
  let version = false
  const usageError = (message: string) => Either.left(new UsageError({ message }))
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!
    if (arg === "-h" || arg === "--help" || (arg === "help" && command === undefined)) help = true
    else if (arg === "-V" || arg === "--version" || (arg === "version" && command === undefined)) version = true
    else if (arg === "-c" || arg === "--config" || arg.startsWith("--config=")) {
      const value = arg.startsWith("--config=") ? arg.slice("--config=".length) : argv[++i]
      if (value === undefined || value === "" || (value.startsWith("-") && value.length > 1)) {
        return usageError(`${arg.split("=")[0]} needs a file path`)
      }
      if (config !== undefined) return usageError("--config given twice")
      config = value
    } else if (arg === "-t" || arg === "--table" || arg.startsWith("--table=")) {
      const value = arg.startsWith("--table=") ? arg.slice("--table=".length) : argv[++i]
      if (value === undefined || value.trim() === "" || value.startsWith("-")) {
        return usageError(`${arg.split("=")[0]} needs a table name`)
      }
      tables.push(
        ...value
          .split(",")
          .map((t) => t.trim())
          .filter((t) => t !== "")
      )
    } else if (arg === "--parallelism" || arg.startsWith("--parallelism=")) {
      const value = arg.startsWith("--parallelism=") ? arg.slice("--parallelism=".length) : argv[++i]
      const n = Number(value)
      if (value === undefined || !Number.isInteger(n) || n < 1) {
        return usageError(
          `--parallelism needs a positive integer, got ${value === undefined ? "nothing" : `"${value}"`}`
        )
      }
      parallelism = n
    } else if (arg === "--repair") repair = true
    else if (arg === "--json") json = true
    else if (arg.startsWith("-") && arg.length > 1) return usageError(`unknown option ${arg}`)
    else if (command !== undefined) return usageError(`unexpected argument ${arg}`)
    else if (Object.hasOwn(commands, arg)) command = commands[arg as keyof typeof commands]
    else return usageError(`unknown command ${arg}`)
  }
  if (help) return Either.right({ _tag: "Help" })
  if (version) return Either.right({ _tag: "Version" })
  const _tag = command ?? "Run"
  if (_tag !== "Verify" && (tables.length > 0 || repair || json || parallelism !== undefined)) {
    return usageError("--table, --repair, --parallelism and --json are options of verify")
  }
  const withConfig = config === undefined ? {} : { config }
  if (_tag === "Verify") {
    return Either.right({
      _tag,
      ...withConfig,
      tables,
      repair,
      json,
      ...(parallelism === undefined ? {} : { parallelism })
    })
  }
  return Either.right({ _tag, ...withConfig })
}

/** The `version` of walferry's package.json (searched upwards from this module, so it works from src and dist). */
export const readVersion = (): string => {
  let dir = dirname(fileURLToPath(import.meta.url))
  for (let up = 0; up < 5; up++) {
    try {
      const pkg = JSON.parse(readFileSync(join(dir, "package.json"), "utf8")) as { name?: string; version?: string }
      if (pkg.name === "walferry" && pkg.version !== undefined) return pkg.version
    } catch {
      // not here, look further up
    }
    dir = dirname(dir)
  }
  return "unknown"
}
