/**
 * Small batches of different tables that are ready in the same turn of the event loop (writers end their
 * linger on one shared timer per tick, see writers/TickClock) share one destination round trip: their
 * standalone statements (SingleStatement: the rows and the table's positions in one statement) are sent
 * together on one pooled connection with one Sync (OneSync), so they commit in one transaction. At a few
 * hundred source transactions a second each table's batch has a few rows, and the round trip, the commit
 * and the wake-up per statement are most of what a batch costs on both ends.
 *
 * Guarantees: each statement keeps its own meaning (rows and positions of its table together); a round
 * commits all its statements or none. Per-table order is untouched: a writer has one batch in flight. A
 * round runs with a lock timeout (`lockTimeoutMs`), so a lock held on one table's rows cannot hold up the
 * others for long: when a round fails with an error the server reports for a statement (which rolled the
 * round back), each of its statements runs alone, as without rounds, and rounds pause for `pauseMs`; any
 * other failure (the connection broke, the session was ended: the commit is not known) fails every
 * statement of the round, and each writer handles it as it would its own statement's. A cancelled
 * statement (its writer stopped) cancels its round, whose other statements then run alone.
 */
import { Effect } from "effect"
import type pg from "pg"
import { cancelStatement } from "../lib/closeClient.js"
import { oneSync, type Statement } from "./OneSync.js"
import { checkout, failure } from "./PooledClient.js"
import type { WriteFailed } from "../writers/WriteFailed.js"
import { applyError } from "./SqlState.js"
import { statementName } from "./StatementNames.js"

type Row = Record<string, unknown>

/**
 * an error the server reported for a statement of the round, the session going on: its transaction was
 * rolled back. A broken connection or a session ended by the server (possibly after the commit: FATAL,
 * SQLSTATE 08… or 57P0…) proves nothing. (`severity` is in the server's language; the SQLSTATE is not.)
 */
const rolledBack = (err: unknown): boolean => {
  const { code, severity } = err as { code?: unknown; severity?: unknown }
  if (typeof code !== "string" || !/^[0-9A-Z]{5}$/.test(code)) return false
  return !code.startsWith("08") && !code.startsWith("57P0") && severity !== "FATAL" && severity !== "PANIC"
}

export interface RoundOptions {
  /** a statement of more rows runs alone (0: no rounds) */
  readonly maxRows: number
  readonly lockTimeoutMs: number
  readonly pauseMs: number
  /** most statements in one round */
  readonly maxStatements: number
}

export const defaultRoundOptions: RoundOptions = { maxRows: 32, lockTimeoutMs: 200, pauseMs: 1_000, maxStatements: 16 }

/** one statement's place in a round */
export class RoundMember {
  client: pg.PoolClient | undefined = undefined
  cancelled = false
  constructor(
    readonly statement: Statement,
    readonly resolve: (row: Row | undefined) => void,
    readonly reject: (err: unknown) => void
  ) {}
}

export class SharedRound {
  private pending: Array<RoundMember> = []
  private scheduled = false
  private pausedUntil = 0
  private readonly lockTimeout: Statement

  constructor(
    private readonly pool: pg.Pool,
    readonly options: RoundOptions = defaultRoundOptions
  ) {
    const text = "SELECT set_config('lock_timeout', $1, true)"
    this.lockTimeout = {
      text,
      name: statementName(text),
      values: [`${Math.max(1, Math.round(options.lockTimeoutMs))}ms`]
    }
  }

  /** whether a statement of `rows` rows may wait for this turn's round */
  accepts(rows: number): boolean {
    return rows <= this.options.maxRows && this.options.maxRows > 0
  }

  /** `statement` in this turn's round (alone if it is the only one): the first row it returns */
  join(statement: Statement, resolve: (row: Row | undefined) => void, reject: (err: unknown) => void): RoundMember {
    const member = new RoundMember(statement, resolve, reject)
    this.pending.push(member)
    if (!this.scheduled) {
      this.scheduled = true
      setImmediate(this.flush)
    }
    return member
  }

  /** the member's statement will not commit: dropped if it has not been sent, cancelled (with its round) if it has */
  cancel(member: RoundMember): void {
    member.cancelled = true
    if (member.client !== undefined) cancelStatement(member.client)
  }

  private readonly flush = (): void => {
    this.scheduled = false
    const members = this.pending
    this.pending = []
    const max = this.options.maxStatements
    const alone = members.length === 1 || performance.now() < this.pausedUntil
    for (let i = 0; i < members.length; i += max) {
      const group = members.slice(i, i + max)
      if (alone || group.length === 1) for (const m of group) this.alone(m)
      else this.round(group)
    }
  }

  private round(members: ReadonlyArray<RoundMember>): void {
    this.send(members, true)
  }

  private alone(member: RoundMember): void {
    if (!member.cancelled) this.send([member], false)
  }

  /**
   * the members' statements on one pooled client, in one OneSync (after the lock timeout when `shared`); the
   * client goes back to the pool after a success and is destroyed after a failure
   */
  private send(members: ReadonlyArray<RoundMember>, shared: boolean): void {
    checkout(this.pool).then(
      (client) => {
        const live = members.filter((m) => !m.cancelled)
        if (live.length === 0) return client.release()
        const statements: Array<Statement> = shared ? [this.lockTimeout] : []
        for (const m of live) {
          m.client = client
          statements.push(m.statement)
        }
        const first = statements.length - live.length
        oneSync(client, statements).then(
          (rows) => {
            client.release()
            for (let i = 0; i < live.length; i++) {
              live[i]!.client = undefined
              live[i]!.resolve(rows[first + i])
            }
          },
          (err: unknown) => {
            client.release(true)
            for (const m of live) m.client = undefined
            if (!shared || !rolledBack(err)) {
              for (const m of live) m.reject(err)
              return
            }
            this.pausedUntil = performance.now() + this.options.pauseMs
            for (const m of live) this.alone(m)
          }
        )
      },
      (err: unknown) => {
        for (const m of members) m.reject(err)
      }
    )
  }
}

/**
 * `statement` of `table` in `round` as one effect; its failure described for `target` as a batch's is.
 * Interrupting it cancels the statement (see SharedRound.cancel).
 */
export const inRound = (
  round: SharedRound,
  table: string,
  statement: Statement,
  target: { readonly schema: string; readonly name: string }
): Effect.Effect<void, WriteFailed> =>
  Effect.async<void, WriteFailed>((resume) => {
    const member = round.join(
      statement,
      () => resume(Effect.void),
      (err) => resume(Effect.fail(failure(table, applyError(err, target))))
    )
    return Effect.sync(() => round.cancel(member))
  })
