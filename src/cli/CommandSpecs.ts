/**
 * The commands and their flags, as @effect/cli descriptors (the parser and each command's `--help`).
 * Numbers are validated here (a bad value is a usage error, exit 2); the commands get plain objects.
 */
import * as Descriptor from "@effect/cli/CommandDescriptor"
import * as Options from "@effect/cli/Options"
import { Option } from "effect"

export type CommandName = "run" | "check" | "verify" | "cutover"

export interface VerifyFlags {
  /** only these tables (source `schema.table` or destination target name); empty = all mapped tables */
  readonly tables: ReadonlyArray<string>
  readonly repair: boolean
  readonly parallelism: number | undefined
  readonly json: boolean
}

export interface CutoverFlags {
  /** abort when the slot is further behind the source's WAL than this */
  readonly maxLagBytes: number
  readonly blockWrites: boolean
  readonly unblock: boolean
  /** how long to wait for the destination to catch up */
  readonly timeoutSeconds: number
  /** with --block-writes: how long open write transactions may take to finish before they are terminated */
  readonly drainTimeoutSeconds: number
  readonly skipVerify: boolean
  readonly json: boolean
}

export const configOption = Options.text("config").pipe(
  Options.withPseudoName("FILE"),
  Options.withAlias("c"),
  Options.withDescription("walferry YAML configuration (see config/example.yaml)"),
  Options.optional
)

const positive = (name: string) =>
  Options.integer(name).pipe(
    Options.filterMap((n) => (n > 0 ? Option.some(n) : Option.none()), `--${name} must be a positive integer`)
  )

const nonNegative = (name: string, fallback: number) =>
  Options.integer(name).pipe(
    Options.filterMap((n) => (n >= 0 ? Option.some(n) : Option.none()), `--${name} must be an integer >= 0`),
    Options.withDefault(fallback)
  )

const json = Options.boolean("json").pipe(Options.withDescription("print the result as one JSON document"))

const verifyOptions = Options.all({
  tables: Options.text("table").pipe(
    Options.withAlias("t"),
    Options.withDescription("only this table (target name or source schema.table); repeat or comma list"),
    Options.repeated,
    Options.map((values) => values.flatMap((v) => v.split(",").map((t) => t.trim())).filter((t) => t !== ""))
  ),
  repair: Options.boolean("repair").pipe(
    Options.withDescription("re-copy the differing ranges through the online-copy path, then compare again")
  ),
  parallelism: positive("parallelism").pipe(
    Options.withDescription("tables compared at once (default: tuning.sync_parallelism)"),
    Options.optional,
    Options.map(Option.getOrUndefined)
  ),
  json
})

const cutoverOptions = Options.all({
  maxLagBytes: nonNegative("max-lag", 256 * 1024 * 1024).pipe(
    Options.withDescription(
      "abort when the slot is more than this many bytes of WAL behind the source (default 268435456)"
    )
  ),
  blockWrites: Options.boolean("block-writes").pipe(
    Options.withDescription(
      "make the source database read-only (ALTER DATABASE ... SET default_transaction_read_only = on) and end its write sessions"
    )
  ),
  unblock: Options.boolean("unblock").pipe(
    Options.withDescription("undo --block-writes (ALTER DATABASE ... RESET default_transaction_read_only) and exit")
  ),
  timeoutSeconds: nonNegative("timeout", 300).pipe(
    Options.withDescription(
      "seconds to wait for the destination to apply everything up to the source's WAL position (default 300)"
    )
  ),
  drainTimeoutSeconds: nonNegative("drain-timeout", 10).pipe(
    Options.withDescription(
      "with --block-writes: seconds open write transactions may take before being terminated (default 10)"
    )
  ),
  skipVerify: Options.boolean("skip-verify").pipe(Options.withDescription("do not run verify (not recommended)")),
  json
})

const withConfig = <A>(own: Options.Options<A>) => Options.all({ config: configOption, own })

export const commandSpecs = {
  run: Descriptor.make("run", withConfig(Options.none)).pipe(
    Descriptor.withDescription("stream changes from the sources to the destination (default)")
  ),
  check: Descriptor.make("check", withConfig(Options.none)).pipe(
    Descriptor.withDescription("load and validate the configuration, print a summary, exit")
  ),
  verify: Descriptor.make("verify", withConfig(verifyOptions)).pipe(
    Descriptor.withDescription("compare every mapped table between source and destination; exit 0 only when equal")
  ),
  cutover: Descriptor.make("cutover", withConfig(cutoverOptions)).pipe(
    Descriptor.withDescription(
      "guided switch: check lag, optionally block writes, wait until applied, sync sequences, verify"
    )
  )
}
