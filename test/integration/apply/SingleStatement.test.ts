import { afterAll, beforeAll, describe, expect, it } from "@effect/vitest"
import { Effect } from "effect"
import pg from "pg"
import type { Change } from "../../../src/domain/Change.js"
import type { ApplyTarget } from "../../../src/apply/ApplyTarget.js"
import { applyBatch, type ApplyStats } from "../../../src/apply/clone/CloneApply.js"
import { ensurePositionStore, loadPositions, positionsSql } from "../../../src/sink/PositionStore.js"
import type { Position } from "../../../src/sink/Sink.js"
import { inTransaction } from "../../../src/sink/Transaction.js"
import { openApplyDb, type ApplyDb } from "../../support/applyDb.js"
import { relation, source } from "../../support/changes.js"

let db: ApplyDb
beforeAll(async () => {
  db = await openApplyDb()
  const pool = new pg.Pool({ connectionString: db.server.url("apply"), max: 1 })
  pool.on("error", () => undefined)
  await Effect.runPromise(ensurePositionStore(pool))
  await pool.end()
  await db.sql(`create table public.acc (id int primary key, bal int not null, note text);
    insert into public.acc select g, 0, 'n' from generate_series(1, 10) g;
    create table public.hist (id int, delta int)`)
})
afterAll(() => db?.close())

/** applies a batch as PgSink does, with its positions; returns the stats and the statements sent */
const applyWithPositions = async (target: ApplyTarget, batch: ReadonlyArray<Change>, mode: "clone" | "append") => {
  const last = batch[batch.length - 1]!
  const next = new Map<string, Position>([[last.source, { lsn: last.lsn, seq: 1_000_000 }]])
  const sent: Array<string> = []
  const query = db.client.query.bind(db.client) as (...args: Array<unknown>) => unknown
  db.client.query = ((...args: Array<unknown>) => {
    const q = args[0]
    sent.push(typeof q === "string" ? q : (q as { text: string }).text)
    return query(...args)
  }) as typeof db.client.query
  try {
    const stats: ApplyStats = await inTransaction(db.client, async (tx) => {
      const s = await applyBatch(tx, target, batch, mode, undefined, positionsSql(target.name, next))
      if (!s.positionsSaved) await tx.query(positionsSql(target.name, next))
      return s
    })
    return { stats, sent }
  } finally {
    db.client.query = query as typeof db.client.query
  }
}

const position = async (target: string) => [...(await loadPositions(db.client, target)).values()][0]

describe("SingleStatement: a batch of one set-based write commits with its positions in one statement", () => {
  const rel = relation("acc", ["id", "bal", "note"], { key: ["id"] })
  const hist = relation("hist", ["id", "delta"])

  it("updates of a hot table: one statement, no BEGIN/COMMIT, rows and positions written, replay idempotent", async () => {
    const s = source()
    const batch: Array<Change> = []
    for (let i = 0; i < 30; i++) {
      batch.push(s.update(rel, { id: String(1 + (i % 3)), bal: String(i), note: "u" }))
      s.commit()
    }
    const target = await db.target("public", "acc")
    const { stats, sent } = await applyWithPositions(target, batch, "clone")
    expect(stats.positionsSaved).toBe(true)
    expect(stats.written).toBe(3)
    expect(sent).toHaveLength(1)
    expect(sent[0]).toMatch(/^WITH w0 AS \(INSERT INTO/)
    expect(await db.sql("select id, bal from public.acc where id <= 3 order by id")).toEqual([
      { id: 1, bal: 27 },
      { id: 2, bal: 28 },
      { id: 3, bal: 29 }
    ])
    expect((await position("acc"))?.lsn).toBe(batch[batch.length - 1]!.lsn)
    await applyWithPositions(target, batch, "clone")
    expect(await db.sql("select count(*)::int n, sum(bal)::int b from public.acc")).toEqual([{ n: 10, b: 84 }])
  })

  it("deletes count what they did not find; small keyless inserts go the same way", async () => {
    const s = source()
    const target = await db.target("public", "acc")
    const del = [s.delete(rel, { id: "9" }), s.delete(rel, { id: "10" }), s.delete(rel, { id: "99" })]
    const d = await applyWithPositions(target, del, "clone")
    expect(d.sent).toHaveLength(1)
    expect([d.stats.deleted, d.stats.missed]).toEqual([2, 1])
    s.commit()
    const ins = [s.insert(hist, { id: "1", delta: "5" }), s.insert(hist, { id: "1", delta: "6" })]
    const h = await applyWithPositions(await db.target("public", "hist"), ins, "append")
    expect(h.sent).toHaveLength(1)
    expect(await db.sql("select id, delta from public.hist order by delta")).toEqual([
      { id: 1, delta: 5 },
      { id: 1, delta: 6 }
    ])
    expect((await position("hist"))?.lsn).toBe(ins[1]!.lsn)
  })

  it("a failing write saves no position and changes no row", async () => {
    const s = source()
    const target = await db.target("public", "acc")
    const before = await position("acc")
    const bad = [s.update(rel, { id: "1", bal: "1" }), s.update(rel, { id: "2", bal: null, note: "x" })]
    s.commit()
    await expect(applyWithPositions(target, bad.concat([]), "clone")).rejects.toThrow(/null/i)
    expect(await position("acc")).toEqual(before)
    expect(await db.sql("select bal from public.acc where id = 1")).toEqual([{ bal: 27 }])
  })

  it("commuting steps of one plan (delete, upsert, rows with unchanged TOAST) share the one statement", async () => {
    const s = source()
    const target = await db.target("public", "acc")
    await db.sql("update public.acc set note = 'kept' where id = 6")
    const batch = [
      s.insert(rel, { id: "50", bal: "1", note: "a" }),
      s.delete(rel, { id: "4" }),
      s.update(rel, { id: "6", bal: "66" }),
      s.update(rel, { id: "70", bal: "7" }),
      s.delete(rel, { id: "4000" })
    ]
    s.commit()
    const { stats, sent } = await applyWithPositions(target, batch, "clone")
    expect(sent).toHaveLength(1)
    expect(stats).toMatchObject({ positionsSaved: true, written: 3, deleted: 1, missed: 1 })
    expect(await db.sql("select id, bal, note from public.acc where id in (4, 6, 50, 70) order by id")).toEqual([
      { id: 6, bal: 66, note: "kept" },
      { id: 50, bal: 1, note: "a" },
      { id: 70, bal: 7, note: null }
    ])
    expect((await position("acc"))?.lsn).toBe(batch[0]!.lsn)
    const again = await applyWithPositions(target, batch, "clone")
    expect(again.stats).toMatchObject({ written: 3, deleted: 0, missed: 2 })
    expect(await db.sql("select count(*)::int n from public.acc where id in (4, 6, 50, 70)")).toEqual([{ n: 3 }])
  })

  it("a plan whose steps do not commute (a truncate before inserts) keeps the explicit transaction", async () => {
    const s = source()
    const target = await db.target("public", "hist")
    const batch = [s.insert(hist, { id: "1", delta: "1" }), s.truncate(hist), s.insert(hist, { id: "2", delta: "2" })]
    s.commit()
    const { stats, sent } = await applyWithPositions(target, batch, "clone")
    expect(stats.positionsSaved).toBeFalsy()
    expect(sent[0]).toBe("begin")
    expect(sent[sent.length - 1]).toBe("commit")
    expect(await db.sql("select id, delta from public.hist")).toEqual([{ id: 2, delta: 2 }])
  })
})
