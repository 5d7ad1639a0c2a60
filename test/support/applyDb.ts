/**
 * A destination database for apply tests: source tables (captured by triggers) and destination tables
 * live side by side in one fresh database, so results compare with plain SQL. `apply` runs one batch in
 * its own transaction, as the writer does (Transaction.inTransaction), and counts the statements the
 * last attempt sent (a BEGIN sent on its own not counted).
 */
import pg from "pg"
import type { Change } from "../../src/domain/Change.js"
import type { ApplyTarget } from "../../src/apply/ApplyTarget.js"
import { applyBatch, type ApplyMode, type ApplyStats } from "../../src/apply/clone/CloneApply.js"
import type { Extend } from "../../src/sink/Sink.js"
import { inTransaction } from "../../src/sink/Transaction.js"
import { capture, loadTarget } from "./changes.js"
import { startTestPg, type TestPg } from "./Pg.js"
import { latestVersion } from "./versions.js"

export interface ApplyResult extends ApplyStats {
  /** statements seen by the wrapped client.query, BEGIN and COMMIT excluded */
  readonly sent: number
  readonly ms: number
}

export interface ApplyDb {
  readonly server: TestPg
  readonly client: pg.Client
  readonly sql: (text: string, params?: ReadonlyArray<unknown>) => Promise<Array<any>>
  readonly target: (schema: string, name: string) => Promise<ApplyTarget>
  readonly apply: (
    target: ApplyTarget,
    batch: ReadonlyArray<Change>,
    mode?: ApplyMode,
    extend?: Extend
  ) => Promise<ApplyResult>
  readonly capture: (schema: string, name: string, sid?: string) => ReturnType<typeof capture>
  readonly close: () => Promise<void>
}

export const openApplyDb = async (): Promise<ApplyDb> => {
  const server = await startTestPg({ version: latestVersion() })
  const url = await server.createDatabase("apply")
  const admin = new pg.Client({ connectionString: url })
  const client = new pg.Client({ connectionString: url })
  await admin.connect()
  await client.connect()
  let sent = 0
  const query = client.query.bind(client) as (...args: Array<unknown>) => unknown
  client.query = ((...args: Array<unknown>) => {
    if (args[0] !== "begin") sent++
    return query(...args)
  }) as typeof client.query
  const sql = async (text: string, params: ReadonlyArray<unknown> = []) => (await admin.query(text, [...params])).rows
  const apply = async (target: ApplyTarget, batch: ReadonlyArray<Change>, mode: ApplyMode = "clone", extend?: Extend) =>
    inTransaction(client, async (tx) => {
      sent = 0
      const started = performance.now()
      const stats = await applyBatch(tx, target, batch, mode, extend)
      return { ...stats, sent, ms: performance.now() - started }
    })
  return {
    server,
    client,
    sql,
    target: (schema, name) => loadTarget(admin, schema, name),
    apply,
    capture: (schema, name, sid) => capture(sql, schema, name, sid),
    close: async () => {
      await client.end().catch(() => undefined)
      await admin.end().catch(() => undefined)
      await server.stop()
    }
  }
}
