/**
 * One destination transaction around a batch. Its work runs between BEGIN and COMMIT and is rolled back
 * on any error; when the error is a COPY key conflict (CopyInsert), the work runs once more in a fresh
 * transaction, where the table's COPY is off and the rows go through the upsert. Whatever error ends it
 * is thrown as the destination reported it, so its SQLSTATE classifies it.
 *
 * BEGIN costs no round trip of its own when the first statement is a COPY: it is sent as "BEGIN; COPY …"
 * in one simple query (the bulk path, where the round trip was a sixth of each batch). Before any other
 * first statement it is sent on its own, so no statement of the work ever runs outside the transaction —
 * except a work of one standalone statement (SingleStatement: the write and the positions as CTEs of one
 * query), which Postgres runs in its own implicit transaction: no BEGIN, no COMMIT, one round trip.
 */
import type pg from "pg"
import { CopyConflict } from "../apply/clone/CopyInsert.js"

type Query = (query: unknown, values?: unknown) => unknown

/** a statement that carries its own atomicity (SingleStatement): sent as the whole work, outside BEGIN/COMMIT */
const isStandalone = (q: unknown): boolean =>
  typeof q === "object" && q !== null && (q as { standalone?: unknown }).standalone === true

const isCopyStream = (q: unknown): q is { text: string; submit: unknown } =>
  typeof q === "object" && q !== null && typeof (q as { submit?: unknown }).submit === "function"

/** the client as the work sees it: its first statement opens the transaction */
const lazyBegin = (client: pg.ClientBase) => {
  const state = { begun: false }
  const send = client.query.bind(client) as Query
  const query: Query = (q, values) => {
    if (state.begun) return send(q, values)
    if (isStandalone(q)) return send(q, values)
    state.begun = true
    if (isCopyStream(q)) {
      q.text = `BEGIN; ${q.text}`
      return send(q)
    }
    return (send("begin") as Promise<unknown>).then(() => send(q, values))
  }
  return { state, client: { query } as unknown as pg.ClientBase }
}

export const inTransaction = async <A>(client: pg.ClientBase, work: (tx: pg.ClientBase) => Promise<A>): Promise<A> => {
  for (let attempt = 1; ; attempt++) {
    const tx = lazyBegin(client)
    try {
      const result = await work(tx.client)
      if (tx.state.begun) await client.query("commit")
      return result
    } catch (err) {
      if (tx.state.begun) await client.query("rollback").catch(() => undefined)
      if (!(err instanceof CopyConflict)) throw err
      if (attempt >= 2) throw err.cause
    }
  }
}
