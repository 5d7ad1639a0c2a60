/**
 * Closing a connection without ever waiting for it forever: a scope's finalizer cannot be interrupted, so a
 * close that never completes hangs the stop of everything around it. node-postgres's `end()` (a pool's too)
 * resolves only once the socket has closed, which a connection whose peer went away without a FIN (or one
 * behind a firewall that drops packets) may never do.
 */
import { Effect, Option } from "effect"
import type pg from "pg"

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

/**
 * asks the server, on a connection of its own, to cancel the statement `client` runs, if any: ending or
 * destroying the client does not, since a backend reads the next message (or notices the socket) only once
 * its statement is over, so a statement waiting on a lock would still run, and commit, later
 */
export const cancelStatement = (client: pg.ClientBase, options: pg.ClientConfig): void => {
  const running = (client as unknown as { readonly activeQuery?: unknown }).activeQuery
  if (running === undefined || running === null) return
  const canceller = new (client.constructor as typeof pg.Client)(options)
  canceller.connection.on("error", ignore)
  // best effort: never what keeps a process alive (a host that does not answer would hold it for the TCP timeout)
  ;(canceller.connection.stream as { unref?: () => void }).unref?.()
  // node-postgres's own cancel request (not in its types): a fresh client sends the target's process key
  ;(canceller as unknown as { cancel(target: pg.ClientBase, query: unknown): void }).cancel(client, running)
}
