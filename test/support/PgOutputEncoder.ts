/** Test-only encoder of pgoutput messages, the inverse of src/decode/PgOutputDecoder.ts, for hand-built buffers. */
import type { Relation } from "../../src/domain/Relation.js"

export const PG_EPOCH_US = 946_684_800_000_000n

/** a tuple slot: text, NULL, unchanged TOAST, or a binary value (which the decoder rejects) */
export type EncodedValue = string | null | undefined | { readonly binary: Buffer }

class Writer {
  private readonly parts: Array<Buffer> = []
  u8(v: number): this {
    this.parts.push(Buffer.from([v]))
    return this
  }
  char(c: string): this {
    return this.u8(c.charCodeAt(0))
  }
  u16(v: number): this {
    const b = Buffer.alloc(2)
    b.writeUInt16BE(v)
    this.parts.push(b)
    return this
  }
  i32(v: number): this {
    const b = Buffer.alloc(4)
    b.writeInt32BE(v)
    this.parts.push(b)
    return this
  }
  u32(v: number): this {
    const b = Buffer.alloc(4)
    b.writeUInt32BE(v)
    this.parts.push(b)
    return this
  }
  u64(v: bigint): this {
    const b = Buffer.alloc(8)
    b.writeBigUInt64BE(v)
    this.parts.push(b)
    return this
  }
  timestamp(unixUs: bigint): this {
    const b = Buffer.alloc(8)
    b.writeBigInt64BE(unixUs - PG_EPOCH_US)
    this.parts.push(b)
    return this
  }
  cstring(s: string): this {
    this.parts.push(Buffer.from(s, "utf8"), Buffer.from([0]))
    return this
  }
  raw(b: Buffer): this {
    this.parts.push(b)
    return this
  }
  xid(xid: number | undefined): this {
    return xid === undefined ? this : this.u32(xid)
  }
  tuple(values: ReadonlyArray<EncodedValue>): this {
    this.u16(values.length)
    for (const v of values) {
      if (v === null) this.char("n")
      else if (v === undefined) this.char("u")
      else if (typeof v === "string") {
        const b = Buffer.from(v, "utf8")
        this.char("t").i32(b.length).raw(b)
      } else this.char("b").i32(v.binary.length).raw(v.binary)
    }
    return this
  }
  build(): Buffer {
    return Buffer.concat(this.parts)
  }
}

const w = () => new Writer()

export const begin = (finalLsn: bigint, commitTimeUs: bigint, xid: number): Buffer =>
  w().char("B").u64(finalLsn).timestamp(commitTimeUs).u32(xid).build()

export const commit = (flags: number, commitLsn: bigint, endLsn: bigint, commitTimeUs: bigint): Buffer =>
  w().char("C").u8(flags).u64(commitLsn).u64(endLsn).timestamp(commitTimeUs).build()

export const relation = (rel: Relation, xid?: number): Buffer => {
  const out = w().char("R").xid(xid).u32(rel.oid).cstring(rel.schema).cstring(rel.name).char(rel.replicaIdentity)
  out.u16(rel.columns.length)
  for (const c of rel.columns)
    out
      .u8(c.isKey ? 1 : 0)
      .cstring(c.name)
      .u32(c.typeOid)
      .i32(c.typeMod)
  return out.build()
}

export const insert = (oid: number, values: ReadonlyArray<EncodedValue>, xid?: number): Buffer =>
  w().char("I").xid(xid).u32(oid).char("N").tuple(values).build()

export const update = (
  oid: number,
  values: ReadonlyArray<EncodedValue>,
  old?: { readonly kind: "K" | "O"; readonly values: ReadonlyArray<EncodedValue> },
  xid?: number
): Buffer => {
  const out = w().char("U").xid(xid).u32(oid)
  if (old) out.char(old.kind).tuple(old.values)
  return out.char("N").tuple(values).build()
}

export const del = (oid: number, kind: "K" | "O", values: ReadonlyArray<EncodedValue>, xid?: number): Buffer =>
  w().char("D").xid(xid).u32(oid).char(kind).tuple(values).build()

export const truncate = (oids: ReadonlyArray<number>, options: number, xid?: number): Buffer => {
  const out = w().char("T").xid(xid).u32(oids.length).u8(options)
  for (const oid of oids) out.u32(oid)
  return out.build()
}

export const type = (oid: number, schema: string, name: string, xid?: number): Buffer =>
  w().char("Y").xid(xid).u32(oid).cstring(schema).cstring(name).build()

export const origin = (commitLsn: bigint, name: string): Buffer => w().char("O").u64(commitLsn).cstring(name).build()

export const message = (transactional: boolean, lsn: bigint, prefix: string, content: Buffer, xid?: number): Buffer =>
  w()
    .char("M")
    .xid(xid)
    .u8(transactional ? 1 : 0)
    .u64(lsn)
    .cstring(prefix)
    .i32(content.length)
    .raw(content)
    .build()

export const streamStart = (xid: number, first: boolean): Buffer =>
  w()
    .char("S")
    .u32(xid)
    .u8(first ? 1 : 0)
    .build()

export const streamStop = (): Buffer => w().char("E").build()

export const streamCommit = (xid: number, flags: number, commitLsn: bigint, endLsn: bigint, timeUs: bigint): Buffer =>
  w().char("c").u32(xid).u8(flags).u64(commitLsn).u64(endLsn).timestamp(timeUs).build()

export const streamAbort = (xid: number, subXid: number, parallel?: { lsn: bigint; timeUs: bigint }): Buffer => {
  const out = w().char("A").u32(xid).u32(subXid)
  return parallel ? out.u64(parallel.lsn).timestamp(parallel.timeUs).build() : out.build()
}

/** a two-phase message: tag byte plus an opaque body */
export const opaque = (tag: string, body: Buffer = Buffer.alloc(0)): Buffer => w().char(tag).raw(body).build()
