/**
 * Start-up check of a source's CEL expressions against its catalog: every `filter` and `set` of the group is
 * compiled against the source table's columns (types, NOT NULL, replica identity) before anything is copied
 * or streamed, so an expression that does not type-check stops this source at start with an
 * ExpressionInvalid naming the table and the expression. Returns each table's NOT NULL columns, which type
 * its variables when the stream's Relation messages are compiled again.
 */
import { Effect } from "effect"
import type pg from "pg"
import type { SourceGroup } from "../config/Config.js"
import { describeSourceTable } from "../source/SourceCatalog.js"
import { compileExpressions, ExpressionInvalid } from "./RowExpressions.js"

export const checkExpressions = (client: pg.Client, group: SourceGroup) =>
  Effect.gen(function* () {
    const notNull = new Map<string, ReadonlySet<string>>()
    for (const t of group.tables) {
      if (t.expressions === undefined) continue
      const table = yield* describeSourceTable(client, t.schema, t.name)
      if (table === undefined) continue // the publication check reports a missing table
      const label = `${t.schema}.${t.name}`
      const identity = new Set(table.identityColumns)
      const full = table.replicaIdentity === "f"
      const columns = table.columns
        .filter((c) => !c.isGenerated)
        .map((c) => ({ name: c.name, typeOid: c.typeOid, notNull: c.notNull, isKey: !full && identity.has(c.name) }))
      yield* Effect.try({
        try: () => compileExpressions(label, t.expressions!, columns, full),
        catch: (e) =>
          e instanceof ExpressionInvalid
            ? e
            : new ExpressionInvalid({ table: label, key: "filter", expression: "", detail: String(e) })
      })
      notNull.set(label, new Set(table.columns.filter((c) => c.notNull).map((c) => c.name)))
    }
    return notNull
  })
