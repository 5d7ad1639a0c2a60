/**
 * The SQL of copying one SyncTable: the COPY out of the source and into the destination (binary when both
 * ends allow), clearing what a replace-copy overwrites, and the upsert from a staging table. Identifiers are
 * quoted by `quoteIdent`; the sid is a parameter.
 */
import type pg from "pg"
import { qualified, quoteIdent } from "../lib/Sql.js"
import type { SyncTable } from "./SyncTable.js"

/** `copy (select … from source where …) to stdout` */
export const copyOutSql = (t: SyncTable, where: string): string =>
  `copy (select ${t.selectList} from ${qualified(t.source.schema, t.source.name)}${where}) to stdout${formatOf(t)}`

/** `copy <into> (cols) from stdin` */
export const copyInSql = (into: string, t: SyncTable): string =>
  `copy ${into} (${t.into.map(quoteIdent).join(", ")}) from stdin${formatOf(t)}`

const formatOf = (t: SyncTable) => (t.binary ? " with (format binary)" : "")

/** removes what a replace-copy overwrites: the whole target, or this sid's rows */
export const clearTarget = (client: pg.ClientBase, t: SyncTable, sid: string) =>
  t.hasSid ? client.query(`delete from ${t.destSql} where sid = $1`, [sid]) : client.query(`truncate ${t.destSql}`)

/** upsert statement from a staging table holding `into` columns */
export const upsertFromSql = (stage: string, t: SyncTable): string => {
  const cols = t.into.map(quoteIdent).join(", ")
  const set = t.into.filter((c) => !t.conflict.includes(c))
  const action =
    set.length === 0
      ? "nothing"
      : `update set ${set.map((c) => `${quoteIdent(c)} = excluded.${quoteIdent(c)}`).join(", ")}`
  const key = t.conflict.map(quoteIdent).join(", ")
  return `insert into ${t.destSql} (${cols}) select ${cols} from ${stage} order by ${key} on conflict (${key}) do ${action}`
}
