/** Logical decoding needs `wal_level = logical` on the source; check it before touching slots. */
import { Effect } from "effect"
import type pg from "pg"
import { WalLevelNotLogical, type SourceRef, type SourceUnreachable } from "../SourceErrors.js"
import { query } from "../../lib/Sql.js"
import { connectionLost, refOf } from "../SourceClient.js"

export const walLevel = (client: pg.Client, ref?: SourceRef): Effect.Effect<string, SourceUnreachable> =>
  query<{ wal_level: string }>(client, "select current_setting('wal_level') as wal_level").pipe(
    Effect.mapError(connectionLost(client, ref)),
    Effect.map((rows) => rows[0]?.wal_level ?? "unknown")
  )

export const assertLogical = (
  client: pg.Client,
  ref?: SourceRef
): Effect.Effect<void, WalLevelNotLogical | SourceUnreachable> =>
  Effect.flatMap(walLevel(client, ref), (level) => {
    if (level === "logical") return Effect.void
    const source = refOf(client, ref)
    return Effect.fail(new WalLevelNotLogical({ database: source.database, sid: source.sid, walLevel: level }))
  })
