/**
 * Counts the rows of a COPY data stream block by block, without buffering it, for progress and the rows/s
 * limit. Text format: a row ends with a newline (a newline inside a value is escaped). Binary format: a
 * header (signature, flags, extension), then per row an int16 field count and per field an int32 length
 * (-1 = NULL) and its bytes, then an int16 -1 trailer; a row may span blocks, so the parser keeps its
 * place between calls.
 */
const NEWLINE = 10
const SIGNATURE = 11

export interface RowCounter {
  /** rows completed by `block` */
  readonly push: (block: Buffer) => number
}

export const textRows = (): RowCounter => ({
  push: (block) => {
    let n = 0
    for (let i = block.indexOf(NEWLINE); i >= 0; i = block.indexOf(NEWLINE, i + 1)) n++
    return n
  }
})

type State = "header" | "extension" | "count" | "length" | "data" | "done"

const HEADER = SIGNATURE + 8

class BinaryRows implements RowCounter {
  private state: State = "header"
  /** the integer being read (it may span blocks) */
  private readonly pending = Buffer.alloc(HEADER)
  private have = 0
  private fields = 0
  private skip = 0

  push(block: Buffer): number {
    let rows = 0
    let i = 0
    while (i < block.length && this.state !== "done") {
      if (this.state === "data" || this.state === "extension") {
        const n = Math.min(this.skip, block.length - i)
        i += n
        this.skip -= n
        if (this.skip > 0) break
        if (this.state === "extension") this.state = "count"
        else rows += this.endField()
        continue
      }
      const want = this.state === "header" ? HEADER : this.state === "count" ? 2 : 4
      const n = Math.min(want - this.have, block.length - i)
      block.copy(this.pending, this.have, i, i + n)
      this.have += n
      i += n
      if (this.have < want) break
      this.have = 0
      if (this.state === "header") {
        this.skip = this.pending.readUInt32BE(HEADER - 4)
        this.state = "extension"
      } else if (this.state === "count") {
        this.fields = this.pending.readInt16BE(0)
        if (this.fields < 0) this.state = "done"
        else if (this.fields === 0) rows++
        else this.state = "length"
      } else {
        this.skip = Math.max(0, this.pending.readInt32BE(0))
        this.state = "data"
        if (this.skip === 0) rows += this.endField()
      }
    }
    return rows
  }

  /** a field ended: 1 when it was the row's last */
  private endField(): number {
    this.fields--
    this.state = this.fields > 0 ? "length" : "count"
    return this.fields > 0 ? 0 : 1
  }
}

export const binaryRows = (): RowCounter => new BinaryRows()
