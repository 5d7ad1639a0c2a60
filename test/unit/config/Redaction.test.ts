import { inspect } from "node:util"
import { afterEach, describe, expect, it, vi } from "@effect/vitest"
import { Effect, Logger } from "effect"
import { ConfigError } from "../../../src/config/ConfigError.js"
import { loadConfig } from "../../../src/config/ConfigLoader.js"
import { loggerLayer, maskUrl, redactSecrets } from "../../../src/telemetry/Logging.js"
import { DEST_URL, inlineMap, loadFailure, SECRET, SOURCE_URL, walferryYaml, writeFiles } from "./fixtures.js"

const withToken = () => writeFiles({ "c.yaml": walferryYaml(`api: { token: "${SECRET}" }\n${inlineMap("t:")}`) })

/** a test logger keeping every formatted line */
const capture = (format: Logger.Logger<unknown, string>) => {
  const lines: Array<string> = []
  const layer = Logger.replace(
    Logger.defaultLogger,
    Logger.map(format, (line) => void lines.push(line))
  )
  return { lines, layer }
}

describe("redaction", () => {
  afterEach(() => {
    vi.restoreAllMocks()
  })

  it.effect("no password in String(config), JSON.stringify(config), inspect, or logged config", () =>
    Effect.gen(function* () {
      const { config } = yield* loadConfig({ file: withToken(), env: {} })
      const texts = [String(config), JSON.stringify(config), inspect(config, { depth: 10 })]
      for (const format of [Logger.logfmtLogger, Logger.jsonLogger, Logger.stringLogger]) {
        const { lines, layer } = capture(format)
        yield* Effect.log("config", config).pipe(Effect.provide(layer))
        yield* Effect.logInfo(config.destination).pipe(Effect.provide(layer))
        expect(lines).toHaveLength(2)
        texts.push(...lines)
      }
      expect(JSON.stringify(config)).toContain("<redacted>")
      for (const text of texts) expect(text).not.toContain(SECRET)
    })
  )

  it.effect("no password in any error message", () =>
    Effect.gen(function* () {
      const failures = [
        yield* loadFailure({ file: writeFiles({ "a.yaml": walferryYaml(`destination: x\n`) }) }),
        yield* loadFailure({ file: writeFiles({ "b.yaml": `destination: ${DEST_URL}\n${inlineMap("t:")}` }) }),
        yield* loadFailure({ file: writeFiles({ "c.yaml": walferryYaml(`api: { token: ${SECRET} }\n`) }) }),
        yield* loadFailure({ file: writeFiles({ "d.yaml": walferryYaml(inlineMap("t:\n  tpye: x")) }) }),
        yield* loadFailure({ file: writeFiles({ "e.yaml": `destination:\n  url: [${DEST_URL}]\n` }) }),
        yield* loadFailure({ file: writeFiles({ "f.yaml": `destination: { url: ${DEST_URL}\n  bad: : x` }) }),
        yield* loadFailure({ file: withToken(), env: { WALFERRY_MAP: `[{ database: [${SOURCE_URL}] }]` } }),
        yield* loadFailure({ env: { SOURCE_URL, TABLES: "t" } }),
        yield* loadFailure({ env: { SOURCE_URL, TARGET_URL: DEST_URL, TABLES: "t", WALFERRY_API__TOKEN__X: SECRET } }),
        yield* loadFailure({
          file: withToken(),
          env: { WALFERRY_TUNING__WRITERS: `host=h password=${SECRET}` }
        }),
        new ConfigError({ file: "x", path: "", message: `driver said: connect ${SOURCE_URL} failed` })
      ]
      expect(failures).toHaveLength(11)
      for (const e of failures) {
        expect(e).toBeInstanceOf(ConfigError)
        expect(e.message).not.toContain(SECRET)
        expect(JSON.stringify(e)).not.toContain(SECRET)
        expect(String(e)).not.toContain(SECRET)
      }
      expect(failures[10]!.message).toBe("x: driver said: connect postgres://repl:***@src.internal:5432/shop failed")
    })
  )

  it("the configured logger masks secrets in any log line and applies the level", async () => {
    const out: Array<string> = []
    vi.spyOn(console, "log").mockImplementation((...args: Array<unknown>) => void out.push(args.join(" ")))
    const program = Effect.gen(function* () {
      yield* Effect.logError(`connect failed: ${SOURCE_URL}`)
      yield* Effect.logDebug("hidden at info")
    })
    // separate runs: a layer's logger stays installed in the fiber that provided it
    await Effect.runPromise(program.pipe(Effect.provide(loggerLayer({ level: "info", format: "logfmt" }))))
    await Effect.runPromise(program.pipe(Effect.provide(loggerLayer({ level: "debug", format: "json" }))))
    expect(out).toHaveLength(3)
    expect(out[0]).toMatch(/level=ERROR .*postgres:\/\/repl:\*\*\*@src\.internal:5432\/shop/)
    expect(JSON.parse(out[1]!)).toMatchObject({
      logLevel: "ERROR",
      message: "connect failed: postgres://repl:***@src.internal:5432/shop"
    })
    expect(JSON.parse(out[2]!)).toMatchObject({ logLevel: "DEBUG", message: "hidden at info" })
    for (const line of out) expect(line).not.toContain(SECRET)
  })
})

describe("maskUrl", () => {
  it.each([
    ["postgres://user:secret@host:5432/db?sslmode=require", "postgres://user:***@host:5432/db?sslmode=require"],
    ["postgresql://user@host/db", "postgresql://user@host/db"],
    ["postgres://host/db", "postgres://host/db"],
    ["postgres://u:p@ss/w@rd@h1:5432,h2:5433/db", "postgres://u:***@h1:5432,h2:5433/db"],
    ["postgres://u:@host/db", "postgres://u:***@host/db"],
    [
      "postgres://host/db?user=u&password=secret&sslmode=verify-full",
      "postgres://host/db?user=u&password=***&sslmode=verify-full"
    ],
    ["host=h port=5432 password=secret dbname=d", "host=h port=5432 password=*** dbname=d"],
    ["host=h password='with space' dbname=d", "host=h password=*** dbname=d"],
    ["host=h dbname=d", "host=h dbname=d"]
  ])("%s", (url, masked) => {
    expect(maskUrl(url)).toBe(masked)
  })
})

describe("redactSecrets", () => {
  it("masks credentials anywhere in a text", () => {
    const text = `error: connect postgres://a:one@h1/db and mysql://b:two@h2 (user c@d.com), {"password":"three"} PGPASSWORD=four`
    const masked = redactSecrets(text)
    for (const secret of ["one", "two", "three", "four"]) expect(masked).not.toMatch(new RegExp(`\\b${secret}\\b`))
    expect(masked).toBe(
      `error: connect postgres://a:***@h1/db and mysql://b:***@h2 (user c@d.com), {"password":"***"} PGPASSWORD=***`
    )
    expect(redactSecrets("password authentication failed for user repl")).toBe(
      "password authentication failed for user repl"
    )
  })
})
