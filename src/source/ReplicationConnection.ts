/**
 * The replication socket of one source, on pg-logical-replication's LogicalReplicationService.
 *
 * Guarantees: messages are decoded as they arrive, straight from the socket's buffers (CopyDataTap): an
 * insert's row is copied once, into the arena of the writer it is routed to, and nothing keeps a reference
 * to a socket buffer. They are handed over in server order through a bounded inbox; a malformed message is
 * handed over in its place as a DecodeError and nothing after it is read. The inbox is bounded in payload bytes as well as in messages: when it
 * holds more than `highWaterBytes` bytes or `highWater` messages the socket is paused (so Postgres keeps
 * the WAL and our memory stays bounded, however large the rows) until the reader takes the inbox, so at most
 * two inboxes (the one being filled, the one being dispatched) plus one socket chunk are in memory.
 * Standby status updates carry exactly the LSN we give — the library's own acknowledge adds 1 and
 * auto-acks received positions, so both are disabled.
 */
import { Data, Effect, Redacted, type Scope } from "effect"
import { LogicalReplicationService } from "pg-logical-replication"
import type pg from "pg"
import { type ArenaOf, DecodeError, PgOutputDecoder, type PgOutputMessage } from "../decode/PgOutputDecoder.js"
import * as Lsn from "../domain/Lsn.js"
import { closeWithin } from "../lib/closeClient.js"
import { connectConfig } from "../lib/ConnectConfig.js"
import { tapCopyData, type CopyDataHandler } from "./CopyDataTap.js"
import { EMPTY_BATCH, InboundBatch } from "./InboundBatch.js"

export class KeepAlive {
  constructor(
    readonly walEnd: Lsn.Lsn,
    readonly replyRequested: boolean
  ) {}
}

export type Inbound = PgOutputMessage | KeepAlive | DecodeError

export class ReplicationClosed extends Data.TaggedError("ReplicationClosed")<{
  readonly source: string
  readonly cause: unknown
}> {
  override get message() {
    return `replication connection of ${this.source} closed: ${describe(this.cause)}`
  }
}

const describe = (cause: unknown) => (cause instanceof Error ? cause.message : String(cause))

type Plugin = Parameters<LogicalReplicationService["subscribe"]>[0]

type Connection = {
  on(event: "copyData", f: (m: { chunk: Buffer }) => void): void
  removeAllListeners(e: string): void
  stream: Parameters<typeof tapCopyData>[0]
}

/**
 * pgoutput, read straight off the socket: START_REPLICATION is sent here, after the library's own
 * per-message listener (an LSN string, an event and a promise per message) is removed and CopyData frames
 * are tapped off the socket before pg's parser (see CopyDataTap); should the socket not look as expected,
 * pg's own copyData events are used instead
 */
class RawPgoutput {
  constructor(
    readonly options: { readonly publication: string; readonly originNone: boolean },
    private readonly onCopyData: CopyDataHandler
  ) {}
  get name() {
    return "pgoutput"
  }
  parse(buffer: Buffer): Buffer {
    return buffer
  }
  start(client: pg.Client, slotName: string, lastLsn: string): Promise<unknown> {
    const connection = (client as unknown as { connection: Connection }).connection
    connection.removeAllListeners("copyData") // the library's and pg's own no-op for a non-COPY query
    if (!tapCopyData(connection.stream, this.onCopyData)) {
      connection.on("copyData", (m) => this.onCopyData(m.chunk, 0, m.chunk.length))
    }
    const origin = this.options.originNone ? ", origin 'none'" : ""
    const pub = this.options.publication.replace(/'/g, "''").replace(/"/g, '""')
    return client.query(
      `START_REPLICATION SLOT "${slotName.replace(/"/g, '""')}" LOGICAL ${lastLsn} (proto_version '1', publication_names '"${pub}"'${origin})`
    )
  }
}

const XLOG_DATA = 0x77
const KEEPALIVE = 0x6b
const XLOG_HEADER = 25

export interface ReplicationConnection {
  /**
   * waits for at least one message, then returns every buffered one (server order); the batch the previous
   * take returned is cleared first and reused: its caller must be done with it
   */
  readonly takeAll: Effect.Effect<InboundBatch, ReplicationClosed>
  /** like takeAll, but answers an empty batch after `ms` without messages (usable where nothing can be interrupted) */
  readonly takeWithin: (ms: number) => Effect.Effect<InboundBatch, ReplicationClosed>
  /** standby status update: write/flush/apply = `lsn` */
  readonly sendStatus: (lsn: Lsn.Lsn, replyRequested?: boolean) => void
  readonly pause: () => void
}

export interface ReplicationOptions {
  readonly source: string
  readonly url: Redacted.Redacted<string>
  readonly slot: string
  readonly publication: string
  readonly highWater: number
  /** payload bytes the inbox may hold before the socket is paused (default 4 MiB) */
  readonly highWaterBytes?: number
  readonly applicationName: string
  /** where inserts of a relation are decoded to (see PgOutputDecoder's ArenaOf) */
  readonly arenaOf?: ArenaOf
  /** pgoutput `origin 'none'` (PostgreSQL 16+): changes applied by a replication-origin session are not sent */
  readonly originNone?: boolean
}

export const DEFAULT_HIGH_WATER_BYTES = 4 * 1024 * 1024

const PG_EPOCH_MS = 946_684_800_000n

const statusMessage = (lsn: Lsn.Lsn, reply: boolean): Buffer => {
  const buf = Buffer.alloc(34)
  buf[0] = 0x72
  buf.writeBigUInt64BE(lsn, 1)
  buf.writeBigUInt64BE(lsn, 9)
  buf.writeBigUInt64BE(lsn, 17)
  buf.writeBigInt64BE((BigInt(Date.now()) - PG_EPOCH_MS) * 1000n, 25)
  buf[33] = reply ? 1 : 0
  return buf
}

export const openReplication = (
  options: ReplicationOptions
): Effect.Effect<ReplicationConnection, ReplicationClosed, Scope.Scope> =>
  Effect.gen(function* () {
    let inbox = new InboundBatch()
    /** the batch the last take returned */
    let taken = new InboundBatch()
    let inboxBytes = 0
    const highWaterBytes = options.highWaterBytes ?? DEFAULT_HIGH_WATER_BYTES
    const decoder = new PgOutputDecoder(options.arenaOf)
    let malformed = false
    let failure: ReplicationClosed | undefined
    let wake: (() => void) | undefined
    let paused = false
    let userPaused = false
    const service = new LogicalReplicationService(
      connectConfig({ connectionString: Redacted.value(options.url), application_name: options.applicationName }),
      { acknowledge: { auto: false, timeoutSeconds: 0 }, flowControl: { enabled: false } }
    )
    const internal = service as unknown as {
      _connection: {
        stream?: { pause(): void; resume(): void; destroy(): void }
        sendCopyFromChunk(b: Buffer): void
      } | null
    }
    const signal = () => {
      const w = wake
      wake = undefined
      w?.()
    }
    const fail = (cause: unknown) => {
      if (!failure) failure = new ReplicationClosed({ source: options.source, cause })
      signal()
    }
    const pauseSocket = () => {
      paused = true
      internal._connection?.stream?.pause()
    }
    const onCopyData: CopyDataHandler = (buf, start, end) => {
      if (malformed) return
      if (buf[start] === KEEPALIVE && end - start >= 18) {
        inbox.add(new KeepAlive(buf.readBigUInt64BE(start + 1), buf[start + 17] !== 0))
        return signal()
      }
      if (buf[start] !== XLOG_DATA || end - start <= XLOG_HEADER) return
      try {
        inbox.add(decoder.decode(buf, start + XLOG_HEADER, end))
      } catch (e) {
        malformed = true // nothing after it can be decoded reliably: stop reading
        userPaused = true
        pauseSocket()
        if (!(e instanceof DecodeError)) return fail(e)
        inbox.add(e)
      }
      inboxBytes += end - start - XLOG_HEADER
      if (!paused && (inbox.count >= options.highWater || inboxBytes >= highWaterBytes)) pauseSocket()
      signal()
    }
    service.on("error", fail)
    yield* Effect.addFinalizer(() =>
      closeWithin(
        () => {
          internal._connection?.stream?.resume() // a paused socket never sees the server close it
          return service.destroy()
        },
        5_000,
        () => internal._connection?.stream?.destroy()
      )
    )
    service
      .subscribe(
        new RawPgoutput(
          { publication: options.publication, originNone: options.originNone ?? false },
          onCopyData
        ) as unknown as Plugin,
        options.slot,
        "0/0"
      )
      .then(() => fail(new Error("replication stream ended by the server")), fail)

    const takeAll: ReplicationConnection["takeAll"] = Effect.suspend(() => {
      taken.clear()
      if (inbox.count > 0) return Effect.succeed(drain())
      if (failure) return Effect.fail(failure)
      // no canceler (one costs an uninterruptible region per read): an interrupted take's wake resumes nothing,
      // since the inbox is drained by the resumed effect, in the fiber, and the next take replaces it
      return Effect.async<InboundBatch, ReplicationClosed>((resume) => {
        wake = () => resume(woken)
      })
    })
    const takeWithin: ReplicationConnection["takeWithin"] = (ms) =>
      Effect.suspend(() => {
        taken.clear()
        if (inbox.count > 0) return Effect.succeed(drain())
        if (failure) return Effect.fail(failure)
        return Effect.async<InboundBatch, ReplicationClosed>((resume) => {
          const timer = setTimeout(() => {
            wake = undefined
            resume(Effect.succeed(EMPTY_BATCH))
          }, ms)
          wake = () => {
            clearTimeout(timer)
            resume(woken)
          }
          return Effect.sync(() => {
            clearTimeout(timer)
            wake = undefined
          })
        })
      })
    const woken = Effect.suspend(() => (inbox.count > 0 ? Effect.succeed(drain()) : Effect.fail(failure!)))
    const drain = (): InboundBatch => {
      const out = inbox
      inbox = taken
      taken = out
      inboxBytes = 0
      if (paused && !userPaused) {
        paused = false
        internal._connection?.stream?.resume()
      }
      return out
    }
    return {
      takeAll,
      takeWithin,
      sendStatus: (lsn, reply = false) => internal._connection?.sendCopyFromChunk(statusMessage(lsn, reply)),
      pause: () => {
        userPaused = true
        pauseSocket()
      }
    }
  })
