import { describe, expect, it } from "@effect/vitest"
import { Redacted } from "effect"
import type { SourceGroup, TableMapping } from "../../../src/config/Config.js"
import { DEFAULT_HISTORY_COLUMNS } from "../../../src/config/KuvaszMap.js"
import { expandGroup, isDropped, liveTables, type CatalogTable } from "../../../src/mapping/Wildcards.js"

const mapping = (schema: string, name: string, extra: Partial<TableMapping> = {}): TableMapping => ({
  schema,
  name,
  mode: "clone",
  target: name,
  partitionsRegex: undefined,
  autoCreate: true,
  history: DEFAULT_HISTORY_COLUMNS,
  ...extra
})

const group = (tables: ReadonlyArray<TableMapping>): SourceGroup => ({
  database: "shop",
  urls: [
    { url: Redacted.make("postgres://a"), sid: "a" },
    { url: Redacted.make("postgres://b"), sid: "b" }
  ],
  tables,
  wildcards: [
    { key: "sales.order_*", schema: "sales", name: "order_*", template: mapping("", "", { mode: "append" }) },
    { key: "sales.*", schema: "sales", name: "*", template: mapping("", "", { mode: "history" }) }
  ]
})

const t = (schema: string, name: string): CatalogTable => ({ schema, name })
const summary = (g: SourceGroup) =>
  g.tables.map((m) => [`${m.schema}.${m.name}`, m.mode, m.wildcard?.key, m.wildcard?.present, m.wildcard?.dropped])

describe("expandGroup", () => {
  it("maps matches per source, the first key wins, named tables win over keys", () => {
    const { group: g, warnings } = expandGroup(
      group([mapping("sales", "customers", { mode: "clone", target: "cust" })]),
      new Map([
        ["a", [t("sales", "customers"), t("sales", "order_items"), t("sales", "notes"), t("public", "x")]],
        ["b", [t("sales", "order_items")]]
      ])
    )
    expect(warnings).toEqual([])
    expect(summary(g)).toEqual([
      ["sales.customers", "clone", undefined, undefined, undefined],
      ["sales.notes", "history", "sales.*", ["a"], []],
      ["sales.order_items", "append", "sales.order_*", ["a", "b"], []]
    ])
    expect(liveTables(g.tables, "b").map((m) => m.name)).toEqual(["customers", "order_items"])
  })

  it("skips a match whose target another table of the group has, with a warning", () => {
    const { group: g, warnings } = expandGroup(
      group([mapping("public", "orders_old", { target: "order_x" })]),
      new Map([["a", [t("sales", "order_x")]]])
    )
    expect(g.tables.map((m) => m.name)).toEqual(["orders_old"])
    expect(warnings[0]).toMatch(/sales\.order_x matches "sales\.order_\*" but its target order_x is already mapped/)
  })

  it("only grows: a table gone from a source stays mapped as dropped there; an unread source keeps its tables", () => {
    const first = expandGroup(
      group([]),
      new Map([
        ["a", [t("sales", "notes"), t("sales", "order_1")]],
        ["b", [t("sales", "notes")]]
      ])
    ).group
    const second = expandGroup(first, new Map([["a", [t("sales", "order_1")]]])).group
    expect(summary(second)).toEqual([
      ["sales.notes", "history", "sales.*", ["b"], ["a"]],
      ["sales.order_1", "append", "sales.order_*", ["a"], []]
    ])
    const third = expandGroup(
      second,
      new Map([
        ["a", []],
        ["b", []]
      ])
    ).group
    expect(summary(third)).toEqual([
      ["sales.notes", "history", "sales.*", [], ["a", "b"]],
      ["sales.order_1", "append", "sales.order_*", [], ["a"]]
    ])
    expect(third.tables.every(isDropped)).toBe(true)
    expect(liveTables(third.tables, "a")).toEqual([])
    // created again: present again, and expanding twice changes nothing
    const back = expandGroup(
      third,
      new Map([
        ["a", [t("sales", "notes")]],
        ["b", []]
      ])
    ).group
    expect(summary(back)[0]).toEqual(["sales.notes", "history", "sales.*", ["a"], ["b"]])
    expect(
      expandGroup(
        back,
        new Map([
          ["a", [t("sales", "notes")]],
          ["b", []]
        ])
      ).group
    ).toEqual(back)
  })

  it("maps a table the capture saw dropped (walferry was down) as dropped, unless named or present again", () => {
    const { group: g } = expandGroup(
      group([mapping("sales", "named_one")]),
      new Map([
        ["a", [t("sales", "back")]],
        ["b", []]
      ]),
      new Map([
        ["a", [t("sales", "order_9"), t("sales", "named_one"), t("sales", "back"), t("public", "x")]],
        ["b", [t("sales", "order_9")]]
      ])
    )
    expect(summary(g)).toEqual([
      ["sales.named_one", "clone", undefined, undefined, undefined],
      ["sales.back", "history", "sales.*", ["a"], []],
      ["sales.order_9", "append", "sales.order_*", [], ["a", "b"]]
    ])
  })
})
