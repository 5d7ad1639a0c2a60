import { describe, expect, it } from "@effect/vitest"
import { Either } from "effect"
import { DecodeError, PgOutputDecoder, type PgOutputMessage } from "../../../src/decode/PgOutputDecoder.js"
import { RelationCache } from "../../../src/decode/RelationCache.js"
import { RawArena, valueAt } from "../../../src/decode/RawTuple.js"
import type { Relation } from "../../../src/domain/Relation.js"
import * as E from "../../support/PgOutputEncoder.js"

const decode = (buf: Buffer): PgOutputMessage => new PgOutputDecoder().decode(buf)

const decodeError = (buf: Buffer, decoder = new PgOutputDecoder()): DecodeError => {
  const result = decoder.decodeEither(buf)
  if (Either.isRight(result)) throw new Error(`expected a DecodeError, decoded ${result.right._tag}`)
  return result.left
}

const T0 = 1_700_000_000_123_456n // 2023-11-14T22:13:20.123456Z in µs

const users: Relation = {
  oid: 16384,
  schema: "public",
  name: "users",
  replicaIdentity: "d",
  columns: [
    { name: "id", typeOid: 20, typeMod: -1, isKey: true },
    { name: "name", typeOid: 1043, typeMod: 104, isKey: false },
    { name: "bio", typeOid: 25, typeMod: -1, isKey: false }
  ]
}

describe("PgOutputDecoder: transaction messages", () => {
  it("decodes Begin with LSN, xid and commit time converted from the PG epoch", () => {
    expect(decode(E.begin(0x1_0000_16b3748n, T0, 0xfffffffe))).toEqual({
      _tag: "Begin",
      finalLsn: 0x1_0000_16b3748n,
      commitTimeUs: T0,
      xid: 4294967294
    })
    const before2000 = 915_148_800_000_000n // 1999-01-01
    expect(decode(E.begin(1n, before2000, 1))).toMatchObject({ commitTimeUs: before2000 })
  })

  it("decodes Commit", () => {
    expect(decode(E.commit(0, 0x16b3748n, 0x16b3778n, T0))).toEqual({
      _tag: "Commit",
      flags: 0,
      commitLsn: 0x16b3748n,
      endLsn: 0x16b3778n,
      commitTimeUs: T0
    })
  })

  it("decodes Origin, Type and logical Message", () => {
    expect(decode(E.origin(0xabcdefn, "node_𝔸"))).toEqual({ _tag: "Origin", commitLsn: 0xabcdefn, name: "node_𝔸" })
    expect(decode(E.type(16500, "my schema", "mood"))).toEqual({
      _tag: "Type",
      xid: null,
      typeOid: 16500,
      schema: "my schema",
      name: "mood"
    })
    const content = Buffer.from([0, 1, 2, 0xff, 0])
    const input = E.message(true, 0x42n, "", content)
    const msg = decode(input)
    expect(msg).toEqual({ _tag: "Message", xid: null, transactional: true, lsn: 0x42n, prefix: "", content })
    input.fill(0x55)
    expect(msg._tag === "Message" && [...msg.content]).toEqual([0, 1, 2, 0xff, 0])
    expect(decode(E.message(false, 7n, "wf", Buffer.alloc(0)))).toMatchObject({ transactional: false, prefix: "wf" })
  })

  it("decodes two-phase and stream prepare messages as Unsupported", () => {
    for (const tag of ["b", "P", "K", "r", "p"]) {
      expect(decode(E.opaque(tag, Buffer.from("gid\0xyz")))).toEqual({ _tag: "Unsupported", tag })
    }
  })
})

describe("PgOutputDecoder: relations and rows", () => {
  it("decodes Relation with replica identity, key flags, type mods and non-BMP names", () => {
    expect(decode(E.relation(users))).toEqual({ _tag: "Relation", xid: null, relation: users })
    const odd: Relation = {
      oid: 4294967295,
      schema: "Order",
      name: "Select 🐘",
      replicaIdentity: "f",
      columns: [{ name: "𝒳", typeOid: 1, typeMod: 0, isKey: false }]
    }
    expect(decode(E.relation(odd))).toEqual({ _tag: "Relation", xid: null, relation: odd })
    for (const replicaIdentity of ["n", "i"] as const) {
      const msg = decode(E.relation({ ...users, replicaIdentity, columns: [] }))
      expect(msg._tag === "Relation" && msg.relation.replicaIdentity).toBe(replicaIdentity)
    }
  })

  it("distinguishes empty strings, NULL and unchanged TOAST, and keeps non-BMP text intact", () => {
    const values = ["", null, undefined, "😀 𝄞 \u0000 ok", "quote ' \" back \\ tab \t nl \n"]
    const msg = decode(E.insert(16384, values))
    expect(msg._tag === "Insert" && [msg.xid, msg.relationOid, msg.newTuple, msg.plain]).toEqual([
      null,
      16384,
      values,
      false
    ])
    const plain = decode(E.insert(7, ["1", null, "x"]))
    expect(plain._tag === "Insert" && [plain.newTuple, plain.plain]).toEqual([["1", null, "x"], true])
  })

  it("keeps an insert's row as a copy of its bytes: the input buffer may be reused at once", () => {
    const input = E.insert(9, ["42", "back\\slash\ttab"])
    const msg = decode(input)
    input.fill(0)
    expect(msg._tag === "Insert" && msg.newTuple).toEqual(["42", "back\\slash\ttab"])
  })

  it("keeps an update's and a delete's tuples as copies of their bytes, decoded when read", () => {
    const input = E.update(5, ["2", "bé", null], { kind: "K", values: ["1", null, null] })
    const msg = decode(input)
    const del = E.del(9, "O", ["7", "x"])
    const gone = decode(del)
    input.fill(0)
    del.fill(0)
    expect(msg._tag === "Update" && [msg.oldTuple, msg.newTuple, msg.plain]).toEqual([
      ["1", null, null],
      ["2", "bé", null],
      true
    ])
    expect(gone._tag === "Delete" && [gone.oldTuple, gone.newStart]).toEqual([["7", "x"], -1])
    const toast = decode(E.update(5, ["1", "b", undefined]))
    expect(toast._tag === "Update" && [toast.plain, toast.oldStart]).toEqual([false, -1])
  })

  it("reads one value of a tuple's bytes without decoding the others", () => {
    const msg = decode(E.update(5, ["12", null, "", "é😀", undefined]))
    if (msg._tag !== "Update") throw new Error("not an update")
    const at = (i: number) => valueAt(msg.buf, msg.newStart, msg.end, i)
    expect([0, 1, 2, 3, 4, 5].map(at)).toEqual(["12", null, "", "é😀", undefined, undefined])
  })

  it("decodes a 1 MB value", () => {
    const big = "é😀x".repeat(200_000)
    const msg = decode(E.insert(1, ["1", big]))
    expect(msg._tag === "Insert" && msg.newTuple[1]).toBe(big)
    expect(Buffer.byteLength(big)).toBeGreaterThan(1_000_000)
  })

  it("decodes Update without old tuple, with 'K' key and with 'O' full old tuple", () => {
    expect(decode(E.update(5, ["1", "b", undefined]))).toMatchObject({
      _tag: "Update",
      xid: null,
      relationOid: 5,
      oldKind: null,
      oldTuple: null,
      newTuple: ["1", "b", undefined]
    })
    expect(decode(E.update(5, ["2", "b", null], { kind: "K", values: ["1", null, null] }))).toMatchObject({
      oldKind: "K",
      oldTuple: ["1", null, null],
      newTuple: ["2", "b", null]
    })
    expect(decode(E.update(5, ["1", "c"], { kind: "O", values: ["1", "b"] }))).toMatchObject({
      oldKind: "O",
      oldTuple: ["1", "b"],
      newTuple: ["1", "c"]
    })
  })

  it("decodes Delete with 'K' and 'O' old tuples", () => {
    expect(decode(E.del(9, "K", ["7", null]))).toMatchObject({
      _tag: "Delete",
      xid: null,
      relationOid: 9,
      oldKind: "K",
      oldTuple: ["7", null]
    })
    expect(decode(E.del(9, "O", ["7", "x"]))).toMatchObject({ oldKind: "O", oldTuple: ["7", "x"] })
  })

  it("decodes Truncate options and relation oids", () => {
    const cases = [
      [0, false, false],
      [1, true, false],
      [2, false, true],
      [3, true, true]
    ] as const
    for (const [options, cascade, restartIdentity] of cases) {
      expect(decode(E.truncate([16384, 16390], options))).toEqual({
        _tag: "Truncate",
        xid: null,
        cascade,
        restartIdentity,
        relationOids: [16384, 16390]
      })
    }
  })

  it("decodes a message inside a larger buffer (after the XLogData header)", () => {
    const payload = E.insert(3, ["a"])
    const frame = Buffer.concat([Buffer.alloc(25, 0x77), payload, Buffer.from("trailing")])
    expect(new PgOutputDecoder().decode(frame, 25, 25 + payload.length)).toMatchObject({ newTuple: ["a"] })
  })

  it("copies an insert's row into the arena ArenaOf names for its relation, and keeps it when the input is reused", () => {
    const mine = new RawArena(4096)
    const d = new PgOutputDecoder((oid) => (oid === 3 ? mine : undefined))
    const frame = (oid: number, values: ReadonlyArray<string | null>) =>
      Buffer.concat([Buffer.alloc(25, 0x77), E.insert(oid, values)])
    const inMine = frame(3, ["a\tb", null, "ü"])
    const elsewhere = frame(4, ["x"])
    const m1 = d.decode(inMine, 25, inMine.length)
    const m2 = d.decode(elsewhere, 25, elsewhere.length)
    inMine.fill(0)
    elsewhere.fill(0)
    if (m1._tag !== "Insert" || m2._tag !== "Insert") throw new Error("not inserts")
    expect([m1.arena === mine, m1.buf === mine.buf, m2.arena === mine]).toEqual([true, true, false])
    expect([m1.newTuple, m2.newTuple]).toEqual([["a\tb", null, "ü"], ["x"]])
    expect(m1.end - m1.start).toBe(2 + (5 + 3) + 1 + (5 + 2)) // count, "a\tb", NULL, "ü"
  })
})

describe("PgOutputDecoder: streaming (protocol v2)", () => {
  it("reads the xid prefix of data messages between Stream Start and Stream Stop only", () => {
    const d = new PgOutputDecoder()
    const xid = 0x80000001
    expect(d.decode(E.streamStart(xid, true))).toEqual({ _tag: "StreamStart", xid, firstSegment: true })
    expect(d.inStream).toBe(true)
    expect(d.decode(E.relation(users, xid))).toEqual({ _tag: "Relation", xid, relation: users })
    expect(d.decode(E.type(77, "s", "t", xid))).toMatchObject({ _tag: "Type", xid, typeOid: 77 })
    expect(d.decode(E.insert(16384, ["1", "a", null], xid))).toMatchObject({ xid, newTuple: ["1", "a", null] })
    expect(d.decode(E.update(16384, ["2"], { kind: "K", values: ["1"] }, xid))).toMatchObject({ xid, oldKind: "K" })
    expect(d.decode(E.del(16384, "K", ["2"], xid))).toMatchObject({ _tag: "Delete", xid, oldTuple: ["2"] })
    expect(d.decode(E.truncate([16384], 1, xid))).toMatchObject({ xid, cascade: true, relationOids: [16384] })
    expect(d.decode(E.message(true, 9n, "p", Buffer.from("c"), xid))).toMatchObject({ xid, prefix: "p" })
    expect(d.decode(E.streamStop())).toEqual({ _tag: "StreamStop" })
    expect(d.inStream).toBe(false)
    expect(d.decode(E.insert(16384, ["3"]))).toMatchObject({ xid: null, newTuple: ["3"] })
    expect(d.decode(E.streamStart(xid, false))).toMatchObject({ firstSegment: false })
    d.reset()
    expect(d.inStream).toBe(false)
  })

  it("decodes Stream Commit and Stream Abort (with and without the v4 parallel fields)", () => {
    expect(decode(E.streamCommit(12, 0, 100n, 200n, T0))).toEqual({
      _tag: "StreamCommit",
      xid: 12,
      flags: 0,
      commitLsn: 100n,
      endLsn: 200n,
      commitTimeUs: T0
    })
    expect(decode(E.streamAbort(12, 13))).toEqual({
      _tag: "StreamAbort",
      xid: 12,
      subXid: 13,
      abortLsn: null,
      abortTimeUs: null
    })
    expect(decode(E.streamAbort(12, 12, { lsn: 300n, timeUs: T0 }))).toMatchObject({ abortLsn: 300n, abortTimeUs: T0 })
  })

  it("a message decoded out of stream state does not parse as garbage", () => {
    const err = decodeError(E.insert(16384, ["1"], 42))
    expect(err._tag).toBe("DecodeError")
    expect(err.tag).toBe("I".charCodeAt(0))
  })
})

describe("PgOutputDecoder: errors", () => {
  it("fails on an unknown tag with the tag byte and offset", () => {
    const err = decodeError(Buffer.from("Zabc"))
    expect(err).toBeInstanceOf(DecodeError)
    expect([err.tag, err.offset]).toEqual([0x5a, 0])
    expect(err.message).toContain("unknown message tag")
    expect(decodeError(Buffer.alloc(0)).message).toContain("truncated")
  })

  it("fails on a binary value naming the column index", () => {
    const err = decodeError(E.insert(1, ["a", null, { binary: Buffer.from([1, 2]) }]))
    expect(err.message).toContain("binary value in column 2")
    expect(err.offset).toBe(1 + 4 + 1 + 2 + (1 + 4 + 1) + 1)
  })

  it("fails on trailing bytes, unknown value kinds, identities and tuple markers", () => {
    expect(decodeError(Buffer.concat([E.commit(0, 1n, 2n, T0), Buffer.from([0])])).message).toContain("trailing")
    const badKind = E.insert(1, ["a"])
    badKind[8] = "x".charCodeAt(0)
    expect(decodeError(badKind).message).toContain("unknown value kind 0x78 in column 0")
    const badIdentity = E.relation(users)
    badIdentity[5 + "public\0users\0".length] = "z".charCodeAt(0)
    expect(decodeError(badIdentity).message).toContain("replica identity")
    const badMarker = E.insert(1, ["a"])
    badMarker[5] = "K".charCodeAt(0)
    expect(decodeError(badMarker).message).toContain("expected 'N'")
    const negative = E.insert(1, ["a"])
    negative.writeInt32BE(-5, 9)
    expect(decodeError(negative).message).toContain("negative length")
  })

  it("fails with DecodeError on every truncation of every message, leaving stream state alone", () => {
    const samples = [
      E.begin(1n, T0, 2),
      E.commit(0, 1n, 2n, T0),
      E.relation(users),
      E.insert(1, ["a", null, undefined, "😀"]),
      E.update(1, ["b"], { kind: "O", values: ["a"] }),
      E.del(1, "K", ["a"]),
      E.truncate([1, 2], 3),
      E.type(1, "s", "t"),
      E.origin(1n, "o"),
      E.message(true, 1n, "p", Buffer.from("xyz")),
      E.streamStart(5, true),
      E.streamCommit(5, 0, 1n, 2n, T0)
    ]
    const d = new PgOutputDecoder()
    for (const sample of samples) {
      for (let len = 0; len < sample.length; len++) {
        const err = decodeError(sample.subarray(0, len), d)
        expect(err).toBeInstanceOf(DecodeError)
        expect(d.inStream).toBe(false)
      }
    }
  })

  it("never throws anything but DecodeError on random garbage", () => {
    let seed = 12345
    const rand = () => (seed = (seed * 1103515245 + 12345) & 0x7fffffff) / 0x80000000
    const tags = "BCRIUDTYOMSEcAZ"
    const d = new PgOutputDecoder()
    for (let i = 0; i < 3000; i++) {
      const buf = Buffer.alloc(1 + Math.floor(rand() * 40))
      for (let j = 0; j < buf.length; j++) buf[j] = Math.floor(rand() * 256)
      buf[0] = tags.charCodeAt(Math.floor(rand() * tags.length))
      d.inStream = rand() < 0.5
      const result = d.decodeEither(buf)
      if (Either.isLeft(result)) expect(result.left).toBeInstanceOf(DecodeError)
    }
  })
})

describe("RelationCache", () => {
  it("tracks the latest relation per oid with never-reused generations", () => {
    const cache = new RelationCache()
    expect(cache.generation(users.oid)).toBe(0)
    expect(cache.set(users)).toBe("new")
    expect(cache.generation(users.oid)).toBe(1)
    const again = { ...users, columns: users.columns.map((c) => ({ ...c })) }
    expect(cache.set(again)).toBe("unchanged")
    expect(cache.get(users.oid)).toBe(users)
    expect(cache.generation(users.oid)).toBe(1)
    const altered = { ...users, columns: [...users.columns, { name: "age", typeOid: 23, typeMod: -1, isKey: false }] }
    expect(cache.set(altered)).toBe("changed")
    expect(cache.get(users.oid)).toBe(altered)
    expect(cache.entry(users.oid)).toEqual({ relation: altered, generation: 2 })
    expect(cache.set({ ...altered, replicaIdentity: "f" })).toBe("changed")
    expect(cache.set({ ...users, oid: 1 })).toBe("new")
    expect(cache.generation(1)).toBe(4)
    expect(cache.size).toBe(2)
    cache.clear()
    expect(cache.set(users)).toBe("new")
    expect(cache.generation(users.oid)).toBe(5)
  })
})
