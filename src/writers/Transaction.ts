/**
 * One destination transaction around a batch. Its work runs between BEGIN and COMMIT and is rolled back
 * on any error; when the error is a COPY key conflict (CopyInsert), the work runs once more in a fresh
 * transaction, where the table's COPY is off and the rows go through the upsert. Whatever error ends it
 * is thrown as the destination reported it, so its SQLSTATE classifies it.
 */
import type pg from "pg"
import { CopyConflict } from "./CopyInsert.js"

export const inTransaction = async <A>(client: pg.ClientBase, work: () => Promise<A>): Promise<A> => {
  for (let attempt = 1; ; attempt++) {
    await client.query("begin")
    try {
      const result = await work()
      await client.query("commit")
      return result
    } catch (err) {
      await client.query("rollback").catch(() => undefined)
      if (!(err instanceof CopyConflict)) throw err
      if (attempt >= 2) throw err.cause
    }
  }
}
