import { describe, expect, it } from "@effect/vitest"
import { EventEmitter } from "node:events"
import { tapCopyData } from "../../../src/source/CopyDataTap.js"

const frame = (type: string, payload: Buffer) => {
  const head = Buffer.alloc(5)
  head[0] = type.charCodeAt(0)
  head.writeUInt32BE(payload.length + 4, 1)
  return Buffer.concat([head, payload])
}

/** the order of rows and runs of other frames (pg may get a run in several calls) */
const collapse = (log: ReadonlyArray<string>) =>
  log.map((l) => (l.startsWith("pg") ? "pg" : l)).filter((l, i, all) => l !== "pg" || all[i - 1] !== "pg")

/** a stream as pg leaves it: one `data` listener, its protocol parser, which here records what it is given */
const socket = () => {
  const stream = new EventEmitter()
  const log: Array<string> = []
  const parsed: Array<Buffer> = []
  stream.on("data", (b: Buffer) => {
    parsed.push(Buffer.from(b))
    log.push(`pg:${b.length}`)
  })
  return { stream, log, parsed }
}

describe("CopyDataTap", () => {
  it("hands CopyData payloads out in order and everything else to pg's parser, however the reads split", () => {
    const sizes = [0, 1, 3, 17, 100, 4096, 700, 5, 2]
    const frames: Array<Buffer> = [frame("W", Buffer.from([0, 0, 0]))]
    const payloads: Array<Buffer> = []
    for (let i = 0; i < 60; i++) {
      const p = Buffer.alloc(i === 7 ? 70_000 : sizes[i % sizes.length]!, i)
      payloads.push(p)
      frames.push(frame("d", p))
      if (i % 13 === 5) frames.push(frame("N", Buffer.from(`notice ${i}\0`)))
    }
    frames.push(frame("c", Buffer.alloc(0)), frame("C", Buffer.from("COPY 0\0")), frame("Z", Buffer.from("I")))
    const wire = Buffer.concat(frames)
    const others = Buffer.concat(frames.filter((f) => f[0] !== 0x64))
    for (const cut of [1, 2, 4, 5, 6, 7, 64, 1000, 65_536, wire.length]) {
      const { log, parsed, stream } = socket()
      const got: Array<Buffer> = []
      expect(
        tapCopyData(stream, (buf, start, end) => {
          got.push(Buffer.from(buf.subarray(start, end)))
          log.push(`d:${end - start}`)
        })
      ).toBe(true)
      for (let at = 0; at < wire.length; at += cut) stream.emit("data", wire.subarray(at, at + cut))
      expect(got).toEqual(payloads)
      expect(Buffer.concat(parsed).equals(others)).toBe(true)
      // pg sees the CopyBothResponse before the first row and each notice between the rows it came between
      expect(collapse(log)).toEqual(collapse(frames.map((f) => (f[0] === 0x64 ? `d:${f.length - 5}` : "pg"))))
    }
  })

  it("keeps ranges valid: every read is a buffer of its own", () => {
    const { stream } = socket()
    const kept: Array<[Buffer, number, number]> = []
    tapCopyData(stream, (buf, start, end) => kept.push([buf, start, end]))
    const wire = Buffer.concat([frame("d", Buffer.from("first")), frame("d", Buffer.from("second"))])
    stream.emit("data", Buffer.from(wire.subarray(0, 9)))
    stream.emit("data", Buffer.from(wire.subarray(9)))
    expect(kept.map(([b, s, e]) => b.toString("utf8", s, e))).toEqual(["first", "second"])
  })

  it("leaves a stream that does not have exactly one data listener alone", () => {
    const stream = new EventEmitter()
    expect(tapCopyData(stream, () => undefined)).toBe(false)
    stream.on("data", () => undefined)
    stream.on("data", () => undefined)
    expect(tapCopyData(stream, () => undefined)).toBe(false)
    expect(stream.listenerCount("data")).toBe(2)
  })
})
