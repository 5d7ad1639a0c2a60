/**
 * kuvasz-streamer's sentinel (first_version_start: sentinel): a streamed insert opens its version at
 * 1900-01-01 instead of its commit time; updates and deletes still use the commit time.
 */
import { describe, expect, it } from "@effect/vitest"
import { foldHistory, formatTime } from "../../../src/apply/history/HistoryFold.js"
import { FIRST_LOAD_START, historyTargetOf, OPEN_END } from "../../../src/apply/history/HistoryTarget.js"
import { relation } from "../../support/changes.js"
import { HISTORY, historySource, T0 } from "../../support/historyChanges.js"

const table = {
  schema: "public",
  name: "t4",
  columns: ["kvsz_id", "id", "name", "kvsz_start", "kvsz_end", "kvsz_deleted", "kvsz_lsn"].map((name) => ({
    name,
    typeName:
      name === "kvsz_start" || name === "kvsz_end"
        ? "timestamp with time zone"
        : name === "kvsz_deleted"
          ? "boolean"
          : name === "kvsz_lsn"
            ? "numeric"
            : name === "name"
              ? "text"
              : "integer"
  })),
  primaryKey: ["id", "kvsz_id"],
  hasSid: false
}

const fold = (firstVersionStart: "commit" | "sentinel") => {
  const rel = relation("t4", ["id", "name"], { key: ["id"] })
  const src = historySource()
  const batch = [src.insert(rel, { id: "1", name: "r1" })]
  src.commit()
  batch.push(src.update(rel, { id: "1", name: "x1" }))
  const target = historyTargetOf(table, { history: HISTORY, firstVersionStart })
  const [seg] = foldHistory(target, batch).segments
  return seg!.versions.map((v) => ({ start: v.start, end: v.end }))
}

describe("HistoryFold first version start", () => {
  it("opens a streamed insert at its commit time by default", () => {
    expect(fold("commit")).toEqual([
      { start: formatTime(T0), end: formatTime(T0 + 1_000_000n) },
      { start: formatTime(T0 + 1_000_000n), end: OPEN_END }
    ])
  })

  it("opens it at 1900-01-01 with the sentinel; the update still versions at its commit time", () => {
    expect(fold("sentinel")).toEqual([
      { start: FIRST_LOAD_START, end: formatTime(T0 + 1_000_000n) },
      { start: formatTime(T0 + 1_000_000n), end: OPEN_END }
    ])
  })
})
