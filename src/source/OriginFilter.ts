/**
 * `source_origin: none`: the source is read with pgoutput `origin 'none'`, so changes applied there by a
 * replication-origin session (another walferry with `destination.origin`, a subscription) are not sent.
 * PostgreSQL 16 added the option; an older source fails with OriginFilterUnsupported rather than stream
 * changes that would loop back.
 */
import { Effect } from "effect"
import type { SourceGroup, SourceUrl } from "../config/Config.js"
import { clientConfig, connect, connectionLost } from "./SourceClient.js"
import { OriginFilterUnsupported } from "./SourceErrors.js"

/** `source_origin: none`: whether the source can filter by origin (16+), else OriginFilterUnsupported */
export const originNone = (group: SourceGroup, url: SourceUrl, wanted: boolean) =>
  !wanted
    ? Effect.succeed(false)
    : Effect.scoped(
        Effect.gen(function* () {
          const ref = { database: group.database, sid: url.sid }
          const client = yield* connect(clientConfig(url.url, `walferry_${group.database}`), ref)
          const version = yield* Effect.tryPromise({
            try: () => client.query<{ v: number }>("select current_setting('server_version_num')::int as v"),
            catch: connectionLost(client, ref)
          }).pipe(Effect.map((r) => r.rows[0]!.v))
          if (version < 160000) return yield* new OriginFilterUnsupported({ ...ref, version })
          return true
        })
      )
