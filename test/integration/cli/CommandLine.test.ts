/**
 * The command line as a real process (`node bin/walferry.js ...`): help texts, version, and exit codes 2 for
 * a bad command line (unknown flag, bad value) and a missing configuration, with a message naming the problem.
 */
import { execFile } from "node:child_process"
import { readFileSync } from "node:fs"
import { dirname, join } from "node:path"
import { fileURLToPath } from "node:url"
import { describe, expect, it } from "@effect/vitest"

const ROOT = join(dirname(fileURLToPath(import.meta.url)), "..", "..", "..")
const BIN = join(ROOT, "bin", "walferry.js")
const env = Object.fromEntries(
  Object.entries(process.env).filter(
    ([k]) => !k.startsWith("WALFERRY_") && !["SOURCE_URL", "TARGET_URL", "TABLES"].includes(k)
  )
)

/** runs the CLI asynchronously (a synchronous spawn would block the test worker) */
const walferry = (...args: Array<string>) =>
  new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    execFile(process.execPath, [BIN, ...args], { env, encoding: "utf8", timeout: 90_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : null
      resolve({ code, stdout, stderr })
    })
  })

describe("walferry command line", async () => {
  it("--help lists the four commands and exits 0", async () => {
    const r = await walferry("--help")
    expect(r.code).toBe(0)
    for (const word of ["run", "check", "verify", "cutover", "--config FILE", "Exit codes"])
      expect(r.stdout).toContain(word)
  })

  it("<command> --help shows that command's flags", async () => {
    const r = await walferry("cutover", "--help")
    expect(r.code).toBe(0)
    for (const flag of ["--max-lag", "--block-writes", "--unblock", "--timeout", "--skip-verify"])
      expect(r.stdout).toContain(flag)
    expect((await walferry("verify", "-h")).stdout).toContain("--repair")
  })

  it("--version prints package.json's version", async () => {
    const pkg = JSON.parse(readFileSync(join(ROOT, "package.json"), "utf8")) as { version: string }
    const r = await walferry("--version")
    expect(r.code).toBe(0)
    expect(r.stdout.trim()).toBe(pkg.version)
  })

  it.each([
    [["--bogus"], "unknown option --bogus"],
    [["cutover", "--blok-writes"], "unknown option --blok-writes"],
    [["verify", "--parallelism", "0"], "--parallelism must be a positive integer"],
    [["cutover", "--max-lag", "lots"], "'lots' is not a integer"],
    [["frobnicate"], "unknown command frobnicate"]
  ])("%j exits 2 naming the problem", async (args, message) => {
    const r = await walferry(...args)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain(`walferry: ${message}`)
    expect(r.stderr).toContain("Usage: walferry")
  })

  it.each([["cutover"], ["verify"]])("%s without any configuration exits 2", async (command) => {
    const r = await walferry(command)
    expect(r.code).toBe(2)
    expect(r.stderr).toContain("no configuration")
  })
})
