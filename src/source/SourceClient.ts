/**
 * A plain (non-replication) connection to one source database, scoped, and the mapping of its failures to
 * SourceUnreachable. Nothing here formats the URL except through `describeTarget`, which drops credentials.
 */
import { Effect, Redacted, type Scope } from "effect"
import pg from "pg"
import { describeTarget, onPrimary } from "./SourceHosts.js"
import { closeClient } from "../lib/closeClient.js"
import { connectConfig } from "../lib/ConnectConfig.js"
import { describeCause, SourceUnreachable, type SourceRef } from "./SourceErrors.js"

export { describeTarget }

export const clientConfig = (url: Redacted.Redacted<string>, applicationName?: string): pg.ClientConfig => ({
  connectionString: Redacted.value(url),
  ...(applicationName === undefined ? {} : { application_name: applicationName })
})

/** connects `config`, mapping a failure to SourceUnreachable; the client is closed when the scope closes */
export const connect = (
  config: pg.ClientConfig,
  ref: SourceRef
): Effect.Effect<pg.Client, SourceUnreachable, Scope.Scope> =>
  Effect.acquireRelease(
    Effect.tryPromise({
      try: async () => {
        const client = new pg.Client(connectConfig(await onPrimary(config)))
        client.on("error", () => undefined) // a dropped idle connection surfaces on the next query instead
        try {
          await client.connect()
        } catch (e) {
          await client.end().catch(() => undefined)
          throw e
        }
        return client
      },
      catch: (cause) => unreachable(config, ref, cause)
    }),
    (client) => closeClient(client)
  )

export const unreachable = (config: pg.ClientConfig, ref: SourceRef, cause: unknown): SourceUnreachable =>
  new SourceUnreachable({
    database: ref.database,
    sid: ref.sid,
    target:
      config.connectionString === undefined
        ? `${config.host ?? "localhost"}:${config.port ?? 5432}/${config.database ?? ""}`
        : describeTarget(config.connectionString),
    reason: describeCause(cause)
  })

/** a failed read on an open connection: the source went away (or refuses us) */
export const connectionLost =
  (client: pg.Client, ref?: SourceRef) =>
  (cause: unknown): SourceUnreachable => {
    const source = refOf(client, ref)
    return new SourceUnreachable({
      database: source.database,
      sid: source.sid,
      target: `${client.host}:${client.port}/${client.database ?? ""}`,
      reason: describeCause(cause)
    })
  }

/** the source identity for a client when the caller gave none */
export const refOf = (client: pg.Client, ref?: SourceRef): SourceRef =>
  ref ?? { database: client.database ?? "", sid: "" }
