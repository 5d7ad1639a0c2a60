import { describe, expect, it } from "@effect/vitest"
import { existingRowsOf } from "../../../src/sync/SyncTable.js"
import { tableMapping } from "../../support/engine.js"

describe("existingRowsOf", () => {
  it("defaults by mode: clone truncates, append upserts, history reconciles", () => {
    expect(existingRowsOf(tableMapping({ table: "t" }))).toBe("truncate")
    expect(existingRowsOf(tableMapping({ table: "t", mode: "append" }))).toBe("upsert")
    expect(existingRowsOf(tableMapping({ table: "t", mode: "history" }))).toBe("reconcile")
  })

  it("upserts a clone table into one side of a two-way pair, unless the table says otherwise", () => {
    expect(existingRowsOf(tableMapping({ table: "t" }), true)).toBe("upsert")
    expect(existingRowsOf(tableMapping({ table: "t", mode: "history" }), true)).toBe("reconcile")
    expect(existingRowsOf({ ...tableMapping({ table: "t" }), existingRows: "truncate" }, true)).toBe("truncate")
  })
})
