/**
 * What copying one mapped table from one source needs to know, read from both catalogs: the columns fed
 * (present on both sides, not generated; `sid` filled from the source id; a history target's validity
 * columns filled as a first load: start 1900-01-01, end open, not deleted, position 0), the source key used
 * for chunking (primary key, else the replica identity index; none: one chunk), the destination key that
 * upserts conflict on, and what to do with rows already there:
 * - clone: truncate (default: clear the target, or this sid's rows) or upsert on the destination key;
 * - append: rows are added, a copied key already there overwritten when the destination has a key to
 *   upsert on (default), or the target is cleared first (truncate);
 * - history: reconcile (default: the copy is merged into the versions already there, see HistoryReconcile;
 *   one chunk per table) or reload (truncate); upsert would duplicate open versions.
 * Values (sid, validity) are quoted by the server, identifiers by `quoteIdent`: nothing is spliced raw.
 */
import { Data, Effect, Runtime } from "effect"
import type pg from "pg"
import type { ExistingRows, TableMapping } from "../config/Config.js"
import { qualified, query, quoteIdent } from "../lib/Sql.js"
import { describeSourceTable, type SourceColumn, type SourceTable } from "../source/SourceCatalog.js"
import { encodePosition } from "../apply/history/HistoryFold.js"
import { FIRST_LOAD_START, historyTargetOf, OPEN_END, type HistoryTarget } from "../apply/history/HistoryTarget.js"
import type { ReconcileSpec } from "./HistoryReconcile.js"
import { ensureHistoryPosition } from "../apply/history/HistoryPosition.js"
import { describeTargetTable, type TargetTable } from "../target/TargetCatalog.js"
import { compileExpressions } from "../route/RowExpressions.js"
import type { RowFailure } from "../route/RowTransform.js"
import { countExpressionFailure } from "../telemetry/Metrics.js"
import type { CelCopy } from "./copy/CelCopy.js"

export class CopyFailed extends Data.TaggedError("CopyFailed")<{
  readonly table: string
  readonly detail: string
  /** a connection or server problem worth retrying, not a definition problem */
  readonly transient: boolean
}> {
  override get message() {
    return `initial copy of ${this.table} failed: ${this.detail}`
  }
}

export interface SyncTable {
  readonly mapping: TableMapping
  /** `schema.name` of the source table, for logs */
  readonly label: string
  readonly target: string
  readonly source: SourceTable
  readonly dest: TargetTable
  /** qualified destination table */
  readonly destSql: string
  /** destination columns fed, sid included first when the target has one */
  readonly into: ReadonlyArray<string>
  /** the matching select list on the source (sid as a server-quoted literal) */
  readonly selectList: string
  /** source key columns in key order, [] = no key: the table is one chunk */
  readonly key: ReadonlyArray<SourceColumn>
  /** destination columns an upsert conflicts on, [] = the destination has no usable key */
  readonly conflict: ReadonlyArray<string>
  readonly existing: ExistingRows
  readonly hasSid: boolean
  /** clear the target (or this sid's rows) before copying */
  readonly clear: boolean
  /** land rows with an upsert on `conflict` rather than a plain COPY */
  readonly upsert: boolean
  /**
   * while streaming, copy it in one whole-table window whose replayed changes are filtered by snapshot
   * (no key to chunk by, or a log-like target where replaying a change twice would add a row)
   */
  readonly whole: boolean
  /** COPY in binary format: same built-in column types and the same server encoding on both sides */
  readonly binary: boolean
  /** the table's CEL filter/set, applied to the copied rows (text format) */
  readonly cel: CelCopy | undefined
  /** history, existing_rows reconcile: how the copy merges into the versions already there */
  readonly reconcile: ReconcileSpec | undefined
}

/** types whose binary form embeds no database-specific OID (built-in, not arrays of user types) */
const FIRST_USER_OID = 16384
const TEXTUAL = /^(text|character varying(\(\d+\))?)$/

const TRANSIENT = /^(08|53|57P|40)/

export const copyFailure = (table: string) => (cause: unknown) => {
  if (cause instanceof CopyFailed) return cause
  const code = (cause as { code?: unknown }).code
  const message = cause instanceof Error ? cause.message : String(cause)
  const sqlstate = typeof code === "string" && /^[0-9A-Z]{5}$/.test(code) ? code : undefined
  const transient = sqlstate !== undefined ? TRANSIENT.test(sqlstate) : !/syntax|does not exist|violates/.test(message)
  return new CopyFailed({ table, detail: message, transient })
}

const permanent = (table: string, detail: string) => new CopyFailed({ table, detail, transient: false })

const keyOf = (source: SourceTable): ReadonlyArray<SourceColumn> => {
  const names = source.primaryKey.length > 0 ? source.primaryKey : source.identityColumns
  return names.map((n) => source.columns.find((c) => c.name === n)!).filter((c) => c !== undefined)
}

/**
 * What a copy does with rows already in the target when the table does not say. A `twoWay` destination (one
 * that writes under a replication origin) is one side of a pair: it takes writes of its own, some still on
 * their way to the other side, so a clone table is upserted into, never truncated.
 */
export const existingRowsOf = (m: TableMapping, twoWay = false): ExistingRows =>
  m.existingRows ??
  (m.mode === "append" || (twoWay && m.mode === "clone") ? "upsert" : m.mode === "history" ? "reconcile" : "truncate")

/** the history columns and their first-load values, as server-quoted literals */
const historyFill = (src: pg.ClientBase, t: TargetTable, m: TableMapping) =>
  Effect.gen(function* () {
    const columns = t.columns.filter((c) => !c.isGenerated)
    const primaryKey = t.primaryKey.length > 0 ? t.primaryKey : (t.uniqueKeys[0] ?? [])
    const target = yield* Effect.try({
      try: () => historyTargetOf({ schema: t.schema, name: t.name, columns, primaryKey, hasSid: t.hasSid }, m),
      catch: (e) => permanent(`${m.schema}.${m.name}`, e instanceof Error ? e.message : String(e))
    })
    const h = target.history
    const values = [FIRST_LOAD_START, OPEN_END, "false", encodePosition(target.positionType, 0n, 0)]
    const quoted = yield* query<{ q: string }>(
      src,
      "select quote_literal(v) as q from unnest($1::text[]) with ordinality as u(v, i) order by i",
      [values]
    )
    const types = ["timestamptz", "timestamptz", "boolean", target.positionType]
    return {
      target,
      columns: [h.start, h.end, h.deleted, h.lsn],
      select: quoted.map((r, i) => `${r.q}::${types[i]}`)
    }
  })

/** the copy's expressions compiled against the source catalog; `into` columns they produce */
const celOf = (
  source: SourceTable,
  mapping: TableMapping,
  label: string,
  prefix: number,
  database: string,
  sid: string
) =>
  Effect.gen(function* () {
    const expressions = mapping.expressions!
    const identity = new Set(source.identityColumns)
    const full = source.replicaIdentity === "f"
    const cols = source.columns.filter((c) => !c.isGenerated)
    const compiled = yield* Effect.try({
      try: () =>
        compileExpressions(
          label,
          expressions,
          cols.map((c) => ({ ...c, isKey: !full && identity.has(c.name) })),
          full
        ),
      catch: (e) => permanent(label, e instanceof Error ? e.message : String(e))
    })
    const runtime = yield* Effect.runtime<never>()
    const onFailure = (f: RowFailure) => {
      countExpressionFailure(database, sid, f.table)
      Runtime.runFork(runtime)(
        Effect.logError(`row not copied, its expressions failed: ${f.detail}`).pipe(
          Effect.annotateLogs({ table: f.table, key: f.key })
        )
      )
    }
    const names = cols.map((c) => c.name)
    const keyIndexes = keyOf(source).map((k) => names.indexOf(k.name))
    const copy: CelCopy = { compiled, prefix, columns: names, keyIndexes, keep: undefined, onFailure, table: label }
    return copy
  })

export const describeSyncTable = (
  src: pg.ClientBase,
  dst: pg.ClientBase,
  destSchema: string,
  mapping: TableMapping,
  sid: string,
  database = "",
  twoWay = false
): Effect.Effect<SyncTable, CopyFailed> => {
  const label = `${mapping.schema}.${mapping.name}`
  return Effect.gen(function* () {
    const source = yield* describeSourceTable(src, mapping.schema, mapping.name)
    if (!source) return yield* permanent(label, "the source table does not exist")
    const found = yield* describeTargetTable(dst, destSchema, mapping.target)
    if (!found) return yield* permanent(label, `destination table ${destSchema}.${mapping.target} does not exist`)
    const dest = yield* ensureHistoryPosition(dst, found, mapping)
    const existing = existingRowsOf(mapping, twoWay)
    if (mapping.mode === "history" && existing === "upsert") {
      return yield* permanent(label, "existing_rows: upsert is not possible for a history target (use reconcile)")
    }
    if (mapping.mode !== "history" && existing === "reconcile") {
      return yield* permanent(label, "existing_rows: reconcile is for history targets only")
    }
    const history = mapping.mode === "history" ? yield* historyFill(src, dest, mapping) : undefined
    const fromSource = new Set(source.columns.filter((c) => !c.isGenerated).map((c) => c.name))
    const skip = new Set(["sid", ...(history?.columns ?? [])])
    let cel =
      mapping.expressions === undefined
        ? undefined
        : yield* celOf(source, mapping, label, dest.hasSid ? 1 : 0, database, sid)
    const setColumns = cel?.compiled.set?.map((s) => s.column)
    const fed = (name: string) => (setColumns === undefined ? fromSource.has(name) : setColumns.includes(name))
    const cols = dest.columns.filter((c) => !c.isGenerated && !skip.has(c.name) && fed(c.name))
    if (cols.length === 0) return yield* permanent(label, "no column in common with the destination table")
    const [sidRow] = yield* query<{ q: string }>(src, "select quote_literal($1::text) as q", [sid])
    const names = cols.map((c) => c.name)
    if (cel !== undefined && setColumns !== undefined) cel = { ...cel, keep: names.map((n) => setColumns.indexOf(n)) }
    const selected = cel === undefined ? names : cel.columns
    const into = [...(dest.hasSid ? ["sid"] : []), ...names, ...(history?.columns ?? [])]
    const fedSet = new Set(into)
    const conflict = [dest.primaryKey, ...dest.uniqueKeys].find((k) => k.length > 0 && k.every((c) => fedSet.has(c)))
    const key = keyOf(source)
    const clone = mapping.mode === "clone"
    const reconcile =
      history && existing === "reconcile"
        ? reconcileSpec(qualified(destSchema, mapping.target), dest, source, names, history.target)
        : undefined
    const sameTypes =
      cel === undefined &&
      cols.every((c) => {
        const s = source.columns.find((x) => x.name === c.name)!
        return s.typeOid < FIRST_USER_OID && s.typeOid === c.typeOid && s.typeName === c.typeName
      })
    const sidColumn = dest.columns.find((c) => c.name === "sid")
    const encoding = "select current_setting('server_encoding') as e"
    const [srcEncoding] = yield* query<{ e: string }>(src, encoding)
    const [dstEncoding] = yield* query<{ e: string }>(dst, encoding)
    const binary =
      sameTypes && srcEncoding?.e === dstEncoding?.e && (sidColumn === undefined || TEXTUAL.test(sidColumn.typeName))
    return {
      mapping,
      label,
      target: mapping.target,
      source,
      dest,
      destSql: qualified(destSchema, mapping.target),
      into,
      selectList: [
        ...(dest.hasSid ? [`${sidRow!.q}::text`] : []),
        ...selected.map(quoteIdent),
        ...(history?.select ?? [])
      ].join(", "),
      key,
      conflict: conflict ?? [],
      existing,
      hasSid: dest.hasSid,
      clear: existing === "truncate" || (clone && key.length === 0),
      reconcile,
      // append: rows already there with a copied key (appended by kuvasz, say) take the copied values
      upsert: existing === "upsert" && (clone ? key.length > 0 : mapping.mode === "append" && conflict !== undefined),
      whole: !clone || key.length === 0,
      binary,
      cel
    } satisfies SyncTable
  }).pipe(Effect.mapError(copyFailure(label)))
}

/** the business key of the versions: the source's replica identity key, else the fed destination key */
const reconcileSpec = (
  destSql: string,
  dest: TargetTable,
  source: SourceTable,
  data: ReadonlyArray<string>,
  target: HistoryTarget
): ReconcileSpec => {
  const fed = (names: ReadonlyArray<string>) => names.length > 0 && names.every((n) => data.includes(n))
  const destKey = dest.primaryKey.filter((n) => data.includes(n))
  const key = fed(source.identityColumns) ? source.identityColumns : destKey
  return { destSql, hasSid: dest.hasSid, history: target.history, positionType: target.positionType, key, data }
}
