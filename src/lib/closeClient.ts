/**
 * Closing a connection without ever waiting for it forever: a scope's finalizer cannot be interrupted, so a
 * close that never completes hangs the stop of everything around it. node-postgres's `end()` (a pool's too)
 * resolves only once the socket has closed, which a connection whose peer went away without a FIN (or one
 * behind a firewall that drops packets) may never do.
 */
import { Effect, Option } from "effect"
import pg from "pg"

/** how long closing a client is waited for before its socket is destroyed */
export const CLOSE_TIMEOUT_MS = 2_000

/**
 * waits for `close()` (its failure ignored) at most `ms`, interruptibly even inside a finalizer; when it takes
 * longer, `onTimeout` runs and the close goes on in the background
 */
export const closeWithin = (
  close: () => Promise<unknown>,
  ms: number,
  onTimeout: () => void = () => undefined
): Effect.Effect<void> =>
  Effect.promise(async () => {
    try {
      await close()
    } catch {
      // closing failed: there is nothing left to close
    }
  }).pipe(
    // inside the timeout: its own fiber can be interrupted, not the (possibly interrupted) caller
    Effect.interruptible,
    Effect.timeoutOption(ms),
    Effect.flatMap((closed) => (Option.isNone(closed) ? Effect.sync(onTimeout) : Effect.void))
  )

/** `client.end()`, bounded by `ms`; then the socket is destroyed, which also ends the session on the server */
export const closeClient = (client: pg.Client, ms: number = CLOSE_TIMEOUT_MS): Effect.Effect<void> =>
  closeWithin(
    () => client.end(),
    ms,
    () => client.connection.stream.destroy()
  )

const ignore = () => undefined

/** what cancelling needs of a node-postgres client (internals, not in its types; pg is pinned exactly) */
interface Cancellable {
  readonly _activeQuery?: unknown
  readonly host: string
  readonly port: number
  readonly processID: number
  readonly secretKey: number
}

interface CancelConnection {
  readonly stream: { unref?: () => void }
  on(event: string, f: (...args: Array<unknown>) => void): void
  connect(port: number | string, host?: string): void
  cancel(processID: number, secretKey: number): void
}

/**
 * asks the server, on a connection of its own, to cancel the statement `client` runs, if any: ending or
 * destroying the client does not, since a backend reads the next message (or notices the socket) only once
 * its statement is over, so a statement waiting on a lock would still run, and commit, later. (The protocol's
 * CancelRequest with the target's process key, sent to the host and port the target is connected to, directly:
 * pg's own `cancel` reads deprecated accessors that print a warning.)
 */
export const cancelStatement = (client: pg.ClientBase): void => {
  const target = client as unknown as Cancellable
  if (target._activeQuery === undefined || target._activeQuery === null) return
  const con = new pg.Connection() as unknown as CancelConnection
  con.on("error", ignore)
  // best effort: never what keeps a process alive (a host that does not answer would hold it for the TCP timeout)
  con.stream.unref?.()
  con.on("connect", () => con.cancel(target.processID, target.secretKey))
  if (target.host.startsWith("/")) con.connect(`${target.host}/.s.PGSQL.${target.port}`)
  else con.connect(target.port, target.host)
}
