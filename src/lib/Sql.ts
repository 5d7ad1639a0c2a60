/**
 * SQL text helpers. Identifiers are always quoted (mixed case, reserved words and embedded quotes survive);
 * values never go through here: they are bound as parameters ($1, $2, ...).
 */
import { Data, Effect } from "effect"
import type pg from "pg"

/** `"name"`, with embedded double quotes doubled */
export const quoteIdent = (name: string): string => `"${name.replace(/"/g, '""')}"`

/** `"schema"."name"` */
export const qualified = (schema: string, name: string): string => `${quoteIdent(schema)}.${quoteIdent(name)}`

/** `"a", "b", "c"` */
export const quoteIdents = (names: ReadonlyArray<string>): string => names.map(quoteIdent).join(", ")

/** `$from, $from+1, ...` for `count` parameters */
export const placeholders = (count: number, from = 1): string =>
  Array.from({ length: count }, (_, i) => `$${from + i}`).join(", ")

/** A statement failed; `code` is the SQLSTATE when the server answered with an error. */
export class QueryFailed extends Data.TaggedError("QueryFailed")<{
  readonly message: string
  readonly code: string | undefined
  readonly sql: string
  readonly cause: unknown
}> {}

const sqlStateOf = (cause: unknown): string | undefined => {
  const code = typeof cause === "object" && cause !== null ? (cause as { code?: unknown }).code : undefined
  return typeof code === "string" ? code : undefined
}

/** runs one statement on a node-postgres client and returns its rows */
export const query = <R extends pg.QueryResultRow>(
  client: pg.ClientBase,
  sql: string,
  params: ReadonlyArray<unknown> = []
): Effect.Effect<Array<R>, QueryFailed> =>
  Effect.tryPromise({
    try: () => client.query<R>(sql, params as Array<unknown>).then((r) => r.rows),
    catch: (cause) =>
      new QueryFailed({
        message: cause instanceof Error ? cause.message : String(cause),
        code: sqlStateOf(cause),
        sql,
        cause
      })
  })

/**
 * SQL expression naming a type like `format_type`, but always schema-qualified outside pg_catalog
 * (`public.mood`, `public.mood[]`, `numeric(10,2)`), whatever the session's search_path.
 */
export const formatTypeSql = (typeOid: string, typmod: string): string =>
  `(select case when fn.nspname = 'pg_catalog' or not pg_type_is_visible(ft.oid)
      then format_type(${typeOid}, ${typmod})
      else quote_ident(fn.nspname) || '.' || format_type(${typeOid}, ${typmod}) end
    from pg_type fa
    join pg_type ft on ft.oid = case when fa.typcategory = 'A' and fa.typelem <> 0 then fa.typelem else fa.oid end
    join pg_namespace fn on fn.oid = ft.typnamespace
    where fa.oid = ${typeOid})`
