import { readFileSync } from "node:fs"
import { describe, expect, it } from "@effect/vitest"
import { Effect, Either } from "effect"
import { parseArgs, readVersion, usage, UsageError } from "../../../src/cli/Args.js"

const parse = (argv: Array<string>) => Effect.runPromise(Effect.either(parseArgs(argv)))
const ok = async (argv: Array<string>) => Either.getOrThrow(await parse(argv))
const usageError = async (argv: Array<string>): Promise<UsageError> => {
  const result = await parse(argv)
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
    [["--help"], { _tag: "Help", text: usage }],
    [["-h"], { _tag: "Help", text: usage }],
    [["help"], { _tag: "Help", text: usage }],
    [["--version"], { _tag: "Version" }],
    [["-V"], { _tag: "Version" }],
    [["verify"], { _tag: "Verify", flags: { tables: [], repair: false, json: false, parallelism: undefined } }],
    [
      ["verify", "-c", "c.yaml", "--table", "a", "-t", "b,public.c", "--repair", "--parallelism", "3", "--json"],
      {
        _tag: "Verify",
        config: "c.yaml",
        flags: { tables: ["a", "b", "public.c"], repair: true, json: true, parallelism: 3 }
      }
    ],
    [
      ["--config", "c.yaml", "cutover"],
      {
        _tag: "Cutover",
        config: "c.yaml",
        flags: {
          maxLagBytes: 268435456,
          blockWrites: false,
          unblock: false,
          timeoutSeconds: 300,
          drainTimeoutSeconds: 10,
          skipVerify: false,
          json: false
        }
      }
    ],
    [
      ["cutover", "--max-lag", "0", "--block-writes", "--timeout", "5", "--drain-timeout", "1", "--skip-verify"],
      {
        _tag: "Cutover",
        flags: {
          maxLagBytes: 0,
          blockWrites: true,
          unblock: false,
          timeoutSeconds: 5,
          drainTimeoutSeconds: 1,
          skipVerify: true,
          json: false
        }
      }
    ],
    [["cutover", "--unblock"], { _tag: "Cutover", flags: expect.objectContaining({ unblock: true }) }]
  ])("%j → %j", async (argv, command) => {
    expect(await ok(argv)).toEqual(command)
  })

  it.each([["check"], ["verify"], ["cutover"], ["run"]])("%s --help describes that command's options", async (name) => {
    const command = await ok([name, "--help"])
    if (command._tag !== "Help") throw new Error(`expected help, got ${command._tag}`)
    expect(command.text).toContain(`walferry ${name}`)
    expect(command.text).toContain("--config FILE")
    if (name === "verify")
      for (const flag of ["--table", "--repair", "--parallelism", "--json"]) expect(command.text).toContain(flag)
    if (name === "cutover")
      for (const flag of ["--max-lag", "--block-writes", "--unblock", "--timeout", "--drain-timeout", "--skip-verify"])
        expect(command.text).toContain(flag)
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
    [["-c", "a.yaml", "check", "-c", "b.yaml"], "--config given twice"],
    [["verify", "--bogus"], "unknown option --bogus"],
    [["cutover", "--max-lag"], "--max-lag needs a value"],
    [["verify", "--parallelism", "0"], "--parallelism must be a positive integer"],
    [["cutover", "--timeout", "soon"], "'soon' is not a integer"],
    [["check", "--repair"], "unknown option --repair"],
    [["verify", "extra"], "unexpected argument extra"]
  ])("%j is a usage error", async (argv, message) => {
    const e = await usageError(argv)
    expect(e._tag).toBe("UsageError")
    expect(e.message).toBe(message)
    expect(e.exitCode).toBe(2)
  })

  it("usage documents the commands, options and environment", () => {
    for (const word of [
      "run",
      "check",
      "verify",
      "cutover",
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
