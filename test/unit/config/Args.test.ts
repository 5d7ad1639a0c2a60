import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { parseArgs, readVersion, usage, UsageError } from "../../../src/cli/Args.js"

const ok = (argv: Array<string>) => Either.getOrThrow(parseArgs(argv))
const usageError = (argv: Array<string>): UsageError => {
  const result = parseArgs(argv)
  if (Either.isRight(result)) throw new Error(`expected a usage error for ${argv.join(" ")}`)
  return result.left
}

describe("Args", () => {
  it.each([
    [[], { _tag: "Run" }],
    [["run"], { _tag: "Run" }],
    [["--config", "c.yaml"], { _tag: "Run", config: "c.yaml" }],
    [["run", "-c", "c.yaml"], { _tag: "Run", config: "c.yaml" }],
    [["--config=conf/w.yaml", "run"], { _tag: "Run", config: "conf/w.yaml" }],
    [["check"], { _tag: "Check" }],
    [["check", "--config", "c.yaml"], { _tag: "Check", config: "c.yaml" }],
    [["-c", "c.yaml", "check"], { _tag: "Check", config: "c.yaml" }],
    [["--help"], { _tag: "Help" }],
    [["-h"], { _tag: "Help" }],
    [["help"], { _tag: "Help" }],
    [["check", "--help"], { _tag: "Help" }],
    [["--version"], { _tag: "Version" }],
    [["-V"], { _tag: "Version" }],
    [["verify"], { _tag: "Verify", tables: [], repair: false, json: false }],
    [
      ["verify", "-c", "c.yaml", "--table", "a", "--table=b,public.c", "--repair", "--parallelism", "3", "--json"],
      { _tag: "Verify", config: "c.yaml", tables: ["a", "b", "public.c"], repair: true, json: true, parallelism: 3 }
    ]
  ])("%j → %j", (argv, command) => {
    expect(ok(argv)).toEqual(command)
  })

  it.each([
    [["--verbose"], "unknown option --verbose"],
    [["start"], "unknown command start"],
    [["toString"], "unknown command toString"],
    [["run", "check"], "unexpected argument check"],
    [["--config"], "--config needs a file path"],
    [["-c", "--help"], "-c needs a file path"],
    [["--config="], "--config needs a file path"],
    [["-c", "a.yaml", "--config", "b.yaml"], "--config given twice"],
    [["verify", "--table"], "--table needs a table name"],
    [["verify", "--parallelism", "0"], '--parallelism needs a positive integer, got "0"'],
    [["check", "--repair"], "--table, --repair, --parallelism and --json are options of verify"]
  ])("%j is a usage error", (argv, message) => {
    const e = usageError(argv)
    expect(e._tag).toBe("UsageError")
    expect(e.message).toBe(message)
    expect(e.exitCode).toBe(2)
  })

  it("usage documents the commands, options and environment", () => {
    for (const word of [
      "run",
      "check",
      "--config FILE",
      "-c",
      "--help",
      "--version",
      "SOURCE_URL",
      "WALFERRY_TUNING__BATCH_SIZE"
    ]) {
      expect(usage).toContain(word)
    }
  })

  it("reads the version from package.json", () => {
    const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
      version: string
    }
    expect(readVersion()).toBe(pkg.version)
    expect(readVersion()).toMatch(/^\d+\.\d+\.\d+/)
  })
})
