import { describe, expect, it } from "@effect/vitest"
import { TextCache } from "../../../src/sink/StatementNames.js"

describe("TextCache", () => {
  it("getBy builds a text once per pair of keys, and keeps pairs apart", () => {
    const cache = new TextCache()
    let builds = 0
    const text = (a: string, b: string) =>
      cache.getBy(a, b, () => {
        builds++
        return `${a}+${b}`
      })
    expect(text("step", "positions")).toBe("step+positions")
    expect(text("step", "positions")).toBe("step+positions")
    expect(builds).toBe(1)
    // same texts joined differently are different keys
    expect(text("ste", "ppositions")).toBe("ste+ppositions")
    expect(text("step", "other")).toBe("step+other")
    expect(builds).toBe(3)
  })

  it("getBy stays bounded: past the limit it starts over and builds again", () => {
    const cache = new TextCache(2)
    let builds = 0
    const text = (a: string) =>
      cache.getBy(a, "p", () => {
        builds++
        return a
      })
    text("a")
    text("b")
    expect(builds).toBe(2)
    text("c")
    text("a")
    expect(builds).toBe(4)
    text("c")
    expect(builds).toBe(4)
  })
})
