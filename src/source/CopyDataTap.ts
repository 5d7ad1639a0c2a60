/**
 * CopyData frames of a replication connection, read straight off its socket.
 *
 * pg's protocol parser makes a message object and a Buffer view per frame, and emits an event for each, for
 * every row a source writes. Here the socket's `data` listener (pg's parser) is taken over: CopyData frames
 * ('d') are handed to `onCopyData` as ranges of the chunk they arrived in, without allocating; every other
 * frame (CopyBothResponse, ErrorResponse, CopyDone, CommandComplete, ReadyForQuery, notices) is passed on,
 * in order, to pg's parser, so errors and the end of the stream reach the client as before.
 *
 * Node gives every socket read a buffer of its own, so ranges stay valid as long as the caller keeps them;
 * a frame split across reads is joined (once, when complete) into a buffer of its own.
 */

/** bytes [start, end) of buf: one CopyData payload */
export type CopyDataHandler = (buf: Buffer, start: number, end: number) => void

type DataSource = Pick<NodeJS.EventEmitter, "listeners" | "removeListener" | "on">

const COPY_DATA = 0x64
const HEADER = 5

/**
 * Takes over `stream`'s one `data` listener (pg's parser); false, leaving the stream untouched, when it has
 * not exactly one
 */
export const tapCopyData = (stream: DataSource, onCopyData: CopyDataHandler): boolean => {
  const current = stream.listeners("data")
  if (current.length !== 1) return false
  const parser = current[0] as (chunk: Buffer) => void
  stream.removeListener("data", parser)
  /** the start of a frame the last read did not complete: its header is in the first part */
  let carry: Array<Buffer> = []
  let carried = 0

  /** handles the whole frames of buf from p on; returns where the first incomplete one starts */
  const frames = (buf: Buffer, p: number): number => {
    const end = buf.length
    let other = -1 // start of a run of frames for pg
    while (p + HEADER <= end) {
      const next = p + 1 + buf.readUInt32BE(p + 1)
      if (next > end) break
      if (buf[p] === COPY_DATA) {
        if (other >= 0) {
          parser(buf.subarray(other, p))
          other = -1
        }
        onCopyData(buf, p + HEADER, next)
      } else if (other < 0) other = p
      p = next
    }
    if (other >= 0) parser(buf.subarray(other, p))
    return p
  }

  stream.on("data", (data: Buffer) => {
    let chunk = data
    let p = 0
    if (carried > 0) {
      if (carried < HEADER)
        chunk = Buffer.concat([carry[0]!, chunk]) // the length is not known yet
      else {
        const total = 1 + carry[0]!.readUInt32BE(1)
        p = total - carried
        if (chunk.length < p) {
          carry.push(chunk)
          carried += chunk.length
          return
        }
        carry.push(chunk.subarray(0, p))
        frames(Buffer.concat(carry, total), 0)
      }
      carry = []
      carried = 0
    }
    const rest = frames(chunk, p)
    if (rest < chunk.length) {
      carry = [chunk.subarray(rest)]
      carried = chunk.length - rest
    }
  })
  return true
}
