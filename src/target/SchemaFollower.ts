/**
 * Follows source schema changes for one destination table. When a batch carries a relation not seen
 * before, its columns are compared with the previous relation of the same source table and with the
 * destination: new columns are added first (when auto-create is on), a retyped column is a
 * SchemaMismatch (the writer stops the table rather than write wrong data), a dropped one is logged.
 */
import { Effect, Redacted } from "effect"
import pg from "pg"
import { connectPrimary } from "../source/SourceHosts.js"
import type { Change } from "../domain/Change.js"
import type { Relation } from "../domain/Relation.js"
import { sameColumns } from "../decode/RelationCache.js"
import { closeClient } from "../lib/closeClient.js"
import { QueryFailed } from "../lib/Sql.js"
import type { SpecSource } from "../sink/Sink.js"
import type { TargetTable } from "./TargetCatalog.js"
import { addColumns, describeColumnTypes } from "./TargetCreator.js"
import { noteDestinationChange } from "./DestinationChanges.js"

export class SchemaFollower {
  private readonly seen = new WeakSet<Relation>()
  private readonly previous = new Map<string, Relation>()

  constructor(
    private readonly destSchema: string,
    private readonly autoCreate: boolean,
    private readonly sources: ReadonlyArray<SpecSource>
  ) {}

  /** relations of the batch that need a look (cheap: a WeakSet probe per change) */
  pending(batch: ReadonlyArray<Change>, table: TargetTable): Array<Change> {
    const out: Array<Change> = []
    for (const c of batch) {
      if (this.seen.has(c.relation)) continue
      this.seen.add(c.relation)
      const prev = this.previous.get(`${c.source}:${c.relation.oid}`)
      const known = new Set(table.columns.map((col) => col.name))
      const missing = c.relation.columns.some((col) => !known.has(col.name))
      if ((prev && !sameColumns(prev.columns, c.relation.columns)) || (missing && this.autoCreate)) out.push(c)
      else this.previous.set(`${c.source}:${c.relation.oid}`, c.relation)
    }
    return out
  }

  /** applies the schema changes of `changes` to the destination (inside the caller's client, no transaction) */
  follow(dest: pg.ClientBase, table: TargetTable, changes: ReadonlyArray<Change>) {
    const self = this
    return Effect.gen(function* () {
      let current = table
      for (const c of changes) {
        const key = `${c.source}:${c.relation.oid}`
        const prev = self.previous.get(key)
        const url = self.sources.find((s) => s.source === c.source)?.url
        if (!url) continue
        const types = yield* Effect.acquireUseRelease(
          Effect.tryPromise({
            try: () => connectPrimary(Redacted.value(url)),
            catch: (cause) =>
              new QueryFailed({ message: `cannot connect to ${c.source}`, code: undefined, sql: "connect", cause })
          }),
          (client) => describeColumnTypes(client, [...c.relation.columns, ...(prev?.columns ?? [])]),
          (client) => closeClient(client)
        )
        const change = yield* addColumns(dest, self.destSchema, current, c.relation, types, {
          previous: prev,
          autoCreate: self.autoCreate
        })
        if (change.added.length > 0) {
          noteDestinationChange()
          yield* Effect.logInfo(`added columns ${change.added.join(", ")} to ${table.name}`)
        }
        if (change.dropped.length > 0) {
          yield* Effect.logInfo(
            `source dropped columns ${change.dropped.join(", ")} of ${table.name}: kept on the destination`
          )
        }
        current = change.table
        self.previous.set(key, c.relation)
      }
      return current
    })
  }
}
