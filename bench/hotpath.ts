/**
 * walferry's in-process hot path on bench:oltp's mix, without servers: pgoutput bytes of TPC-B-like
 * transactions (built once, before timing) go through the real decoder and dispatcher into per-table
 * batches, which the real fold turns into plans and the real statement builders into the parameters a writer
 * would send. The keyless history table's inserts stop at the dispatcher: a writer streams them as bytes
 * through RawCopy, which needs a destination connection (bench:oltp measures it). It prints CPU µs per
 * transaction by stage and the process's heap growth, so a change to one stage can be measured without the
 * ±15 % run-to-run noise of the full benchmark (its other processes share the machine's two cores), and the
 * heap bytes each stage allocates per transaction: what the young generation's collector pays for in the
 * real process, and a figure that does not move with the machine (exact with a young generation larger than
 * a batch: `node --max-semi-space-size=128 --import tsx bench/hotpath.ts`).
 * Usage: npm run bench:hotpath [-- --tx 200000 --batch 250 --rounds 5]
 */
import v8 from "node:v8"
import { ChangeDispatcher } from "../src/source/ChangeDispatcher.js"
import { PgOutputDecoder } from "../src/decode/PgOutputDecoder.js"
import { RawArena } from "../src/decode/RawTuple.js"
import { LsnTracker } from "../src/ack/LsnTracker.js"
import { Router } from "../src/route/Router.js"
import { foldBatch } from "../src/apply/clone/BatchFold.js"
import { singleWrite } from "../src/apply/clone/SingleStatement.js"
import { targetSql } from "../src/apply/clone/TargetSql.js"
import { MAX_ROWS } from "../src/apply/clone/PlanApply.js"
import { positionsSql } from "../src/sink/PositionStore.js"
import { advance } from "../src/writers/Batching.js"
import type { ApplyTarget } from "../src/apply/ApplyTarget.js"
import type { Change, Queued } from "../src/domain/Change.js"
import type { Lsn } from "../src/domain/Lsn.js"
import type { Relation } from "../src/domain/Relation.js"
import type { Position } from "../src/sink/Sink.js"
import type { TableWriter } from "../src/writers/TableWriter.js"
import * as E from "../test/support/PgOutputEncoder.js"
import { tableMapping } from "../test/support/engine.js"
import { arg } from "./args.js"

const TX = arg("tx", 200_000)
const BATCH = arg("batch", 250)
const ROUNDS = arg("rounds", 5)

const col = (name: string, typeOid: number, isKey = false) => ({ name, typeOid, typeMod: -1, isKey })
const INT4 = 23
const BPCHAR = 1042
const TIMESTAMP = 1114
const rel = (oid: number, name: string, columns: Relation["columns"]): Relation => ({
  oid,
  schema: "public",
  name,
  replicaIdentity: "d",
  columns
})
const RELATIONS = [
  rel(1, "accounts", [col("aid", INT4, true), col("bid", INT4), col("abalance", INT4), col("filler", BPCHAR)]),
  rel(2, "tellers", [col("tid", INT4, true), col("bid", INT4), col("tbalance", INT4), col("filler", BPCHAR)]),
  rel(3, "branches", [col("bid", INT4, true), col("bbalance", INT4), col("filler", BPCHAR)]),
  rel(4, "history", [
    col("tid", INT4),
    col("bid", INT4),
    col("aid", INT4),
    col("delta", INT4),
    col("mtime", TIMESTAMP),
    col("filler", BPCHAR)
  ])
]
const TYPE_NAMES: Record<number, string> = { [INT4]: "integer", [BPCHAR]: "character(84)", [TIMESTAMP]: "timestamp" }
const TARGETS = new Map<string, ApplyTarget>(
  RELATIONS.map((r) => [
    r.name,
    {
      schema: "public",
      name: r.name,
      columns: r.columns.map((c) => ({ name: c.name, typeName: TYPE_NAMES[c.typeOid]! })),
      primaryKey: r.columns.filter((c) => c.isKey).map((c) => c.name),
      hasSid: false
    }
  ])
)

/** the pgoutput messages of `n` transactions of the mix, as a walsender sends them */
const workload = (n: number): Array<Buffer> => {
  const out = RELATIONS.map((r) => E.relation(r))
  const filler = " ".repeat(84)
  let lsn = 0x1000000n
  let seed = 42
  /** mulberry32: a fixed, well-spread sequence, so every run applies the same keys */
  const rand = (k: number) => {
    seed = (seed + 0x6d2b79f5) | 0
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed)
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
    return 1 + Math.floor((((t ^ (t >>> 14)) >>> 0) / 4294967296) * k)
  }
  for (let i = 0; i < n; i++) {
    const [aid, tid, bid, delta] = [rand(1_000_000), rand(100), rand(10), rand(10_000) - 5_000]
    const at = 1_700_000_000_000_000n + BigInt(i) * 100n
    out.push(E.begin(lsn + 400n, at, 1000 + i))
    out.push(E.update(1, [String(aid), String(Math.ceil(aid / 100_000)), String(delta), filler]))
    out.push(E.update(2, [String(tid), String(bid), String(delta * 3), filler]))
    out.push(E.update(3, [String(bid), String(delta * 7), filler]))
    out.push(
      E.insert(4, [String(tid), String(bid), String(aid), String(delta), "2026-12-06 01:02:03.456789", " ".repeat(22)])
    )
    out.push(E.commit(0, lsn + 400n, lsn + 448n, at))
    lsn += 512n
  }
  return out
}

/** a table writer's mailbox reduced to an array the harness drains (no fiber: only the data path is timed) */
const collector = (target: string) => {
  const taken: Array<Queued> = []
  const writer = { target, arena: new RawArena(64 << 10), tryOffer: (c: Queued) => taken.push(c) > 0 }
  return { taken, writer: writer as unknown as TableWriter }
}

type Stage = "decode" | "fold" | "build"
const used = () => v8.getHeapStatistics().used_heap_size

const cpu = () => {
  const u = process.cpuUsage()
  return u.user + u.system
}

/**
 * CPU and heap bytes of each stage. Bytes are the heap's growth across a stage; a sample with a collection
 * inside it (growth < 0) is left out and the stage's total scaled up by the samples kept (exact when no
 * collection falls inside a stage)
 */
class Meter {
  readonly us: Record<Stage, number> = { decode: 0, fold: 0, build: 0 }
  private readonly bytes: Record<Stage, [total: number, kept: number, all: number]> = {
    decode: [0, 0, 0],
    fold: [0, 0, 0],
    build: [0, 0, 0]
  }

  time<A>(stage: Stage, f: () => A): A {
    const h0 = used()
    const t0 = cpu()
    const a = f()
    this.us[stage] += cpu() - t0
    const grown = used() - h0
    const b = this.bytes[stage]
    b[2]++
    if (grown >= 0) {
      b[0] += grown
      b[1]++
    }
    return a
  }

  bytesPerTx(stage: Stage, tx: number): string {
    const [total, kept, all] = this.bytes[stage]
    return kept === 0 ? "n/a" : ((total * (all / kept)) / tx).toFixed(0)
  }
}

const round = (messages: ReadonlyArray<Buffer>) => {
  const tables = new Map([...TARGETS.keys()].map((t) => [t, collector(t)]))
  const group = { database: "bench", urls: [], tables: [...TARGETS.keys()].map((t) => tableMapping(t)) }
  const router = new Router(group, new Map([...tables].map(([k, v]) => [k, v.writer])))
  const arenas = new Map<number, RawArena>()
  const decoder = new PgOutputDecoder((oid) => arenas.get(oid))
  const dispatcher = new ChangeDispatcher("bench/", "", router, new LsnTracker(0n as Lsn), undefined, undefined, arenas)
  const positions = new Map<string, Position>()
  const meter = new Meter()
  let rows = 0
  let statements = 0
  const perTx = 6
  for (let from = 0; from < messages.length; from += BATCH * perTx) {
    const end = Math.min(messages.length, from + BATCH * perTx)
    meter.time("decode", () => {
      for (let i = from; i < end; i++) dispatcher.handle(decoder.decode(messages[i]!))
    })
    for (const [name, { taken }] of tables) {
      if (taken.length === 0) continue
      const batch = taken.splice(0, taken.length) as Array<Change>
      if (name === "history") continue
      const target = TARGETS.get(name)!
      const plan = meter.time("fold", () => foldBatch(target, batch))
      meter.time("build", () => {
        positions.clear()
        advance(positions, batch)
        const one = singleWrite(targetSql(target), plan, MAX_ROWS, positionsSql(name, positions), true)
        if (one !== undefined) statements++
        for (const s of plan.steps) if (s._tag !== "Truncate") rows += s._tag === "Write" ? s.count : s.rows.length
      })
    }
  }
  return { meter, rows, statements }
}

const main = () => {
  const messages = workload(TX)
  console.log(`walferry hot path: ${TX.toLocaleString("en-US")} TPC-B transactions, batches of ${BATCH} per table`)
  const results = []
  for (let r = 0; r < ROUNDS; r++) {
    const heap0 = used()
    const { meter, rows, statements } = round(messages)
    const us = (v: number) => (v / TX).toFixed(2)
    const { decode, fold, build } = meter.us
    results.push({
      round: r + 1,
      "decode + dispatch µs/tx": us(decode),
      "fold µs/tx": us(fold),
      "statements µs/tx": us(build),
      "total µs/tx": us(decode + fold + build),
      "heap B/tx decode, fold, statements": ["decode", "fold", "build"]
        .map((k) => meter.bytesPerTx(k as Stage, TX))
        .join(", "),
      "rows after fold": rows,
      "single statements": statements,
      "heap growth MB": ((used() - heap0) / 1e6).toFixed(1)
    })
  }
  console.table(results)
}

main()
