import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { loadConfig } from "../../../src/config/ConfigLoader.js"
import { inlineMap, loadFailure, SOURCE_URL, walferryYaml, writeFiles } from "./fixtures.js"

const twoGroups = (groupKeys: string) => `map:
  - database: a
    urls: [{ url: "${SOURCE_URL}" }]
    tables: { t: }
  - database: b
    urls: [{ url: "${SOURCE_URL}" }]
    tables: { t: }
${groupKeys}`

describe("ConfigLoader: ddl", () => {
  it.effect("is off by default, set globally or per group", () =>
    Effect.gen(function* () {
      const off = yield* loadConfig({ file: writeFiles({ "c.yaml": walferryYaml(inlineMap("t:")) }), env: {} })
      expect(off.config.sources[0]!.ddl).toBeUndefined()
      const global = yield* loadConfig({
        file: writeFiles({ "c.yaml": walferryYaml(`ddl: capture\n${twoGroups("")}`) }),
        env: {}
      })
      expect(global.config.sources.map((g) => g.ddl)).toEqual(["capture", "capture"])
      const perGroup = yield* loadConfig({
        file: writeFiles({ "c.yaml": walferryYaml(`ddl: capture\n${twoGroups("    ddl: remove")}`) }),
        env: {}
      })
      expect(perGroup.config.sources.map((g) => g.ddl)).toEqual(["capture", "remove"])
      const fromEnv = yield* loadConfig({
        file: writeFiles({ "c.yaml": walferryYaml(inlineMap("t:")) }),
        env: { WALFERRY_DDL: "capture" }
      })
      expect(fromEnv.config.sources[0]!.ddl).toBe("capture")
    })
  )

  it.effect("names a bad value", () =>
    Effect.gen(function* () {
      const e = yield* loadFailure({ file: writeFiles({ "c.yaml": walferryYaml(`ddl: yes\n${inlineMap("t:")}`) }) })
      expect(e.message).toMatch(/c\.yaml: ddl: expected one of off, capture, remove/)
    })
  )
})
