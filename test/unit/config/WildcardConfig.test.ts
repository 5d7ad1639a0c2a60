import { describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import { loadConfig } from "../../../src/config/ConfigLoader.js"
import { globMatch, isPatternKey, matchesPattern, parsePattern } from "../../../src/config/TablePattern.js"
import { inlineMap, loadFailure, walferryYaml, writeFiles } from "./fixtures.js"

const load = (tables: string, extra = "") =>
  loadConfig({ file: writeFiles({ "c.yaml": walferryYaml(`${extra}${inlineMap(tables)}`) }), env: {} })

describe("table patterns", () => {
  it("matches globs anchored, * any run, ? one character, the rest literal", () => {
    expect(globMatch("order_*", "order_items")).toBe(true)
    expect(globMatch("order_*", "order_")).toBe(true)
    expect(globMatch("order_*", "orders")).toBe(false)
    expect(globMatch("order_*", "my_order_x")).toBe(false)
    expect(globMatch("t?", "t1")).toBe(true)
    expect(globMatch("t?", "t12")).toBe(false)
    expect(globMatch("a.b*", "a.bc")).toBe(true)
    expect(globMatch("a.b*", "aXbc")).toBe(false)
    expect(globMatch("x+y*", "x+yz")).toBe(true)
    expect(globMatch("*", "Any Name")).toBe(true)
  })

  it("parses keys: unqualified in the default schema, schema globs, and rejects bad ones", () => {
    expect(isPatternKey("sales.orders")).toBe(false)
    expect(isPatternKey("sales.*")).toBe(true)
    expect(parsePattern("*", "app")).toEqual({ key: "*", schema: "app", name: "*" })
    expect(parsePattern("sales.order_*", "public")).toEqual({ key: "sales.order_*", schema: "sales", name: "order_*" })
    expect(matchesPattern(parsePattern("*.*", "public") as never, "sales", "x")).toBe(true)
    expect(parsePattern("a.b.*", "public")).toMatch(/expected "pattern" or "schema.pattern"/)
    expect(parsePattern("sales.", "public")).toMatch(/expected/)
    expect(parsePattern("sales.[ab]*", "public")).toMatch(/no spaces, quotes or brackets/)
  })
})

describe("ConfigLoader: wildcard keys", () => {
  it.effect("keeps wildcard entries apart from named tables, with their options", () =>
    Effect.gen(function* () {
      const { config } = yield* load(
        `orders: { type: append }\n"sales.order_*": { type: history, auto_create: false }\n"*":`,
        "default_schema: app\nwildcard_recheck_ms: 2000\n"
      )
      const group = config.sources[0]!
      expect(group.tables.map((t) => `${t.schema}.${t.name}`)).toEqual(["app.orders"])
      expect(group.wildcards?.map((w) => [w.key, w.schema, w.name, w.template.mode, w.template.autoCreate])).toEqual([
        ["sales.order_*", "sales", "order_*", "history", false],
        ["*", "app", "*", "clone", true]
      ])
      expect(config.wildcardRecheckMs).toBe(2000)
    })
  )

  it.effect("a wildcard with a target rename is an error naming the key", () =>
    Effect.gen(function* () {
      const e = yield* loadFailure({
        file: writeFiles({ "c.yaml": walferryYaml(inlineMap(`"sales.*": { target: x }`)) })
      })
      expect(e.message).toMatch(/c\.yaml: map\[0\]\.tables\["sales\.\*"\]\.target: a wildcard key .* cannot set target/)
    })
  )

  it.effect("a bad pattern is an error naming the key", () =>
    Effect.gen(function* () {
      const e = yield* loadFailure({ file: writeFiles({ "c.yaml": walferryYaml(inlineMap(`"a.b.c*":`)) }) })
      expect(e.message).toMatch(/map\[0\]\.tables\["a\.b\.c\*"\]: invalid wildcard key: expected "pattern"/)
      const neg = yield* loadFailure({
        file: writeFiles({ "c.yaml": walferryYaml(`wildcard_recheck_ms: -1\n${inlineMap("t:")}`) })
      })
      expect(neg.message).toMatch(/wildcard_recheck_ms: expected an integer >= 0/)
    })
  )
})
