/**
 * Several named prepared statements sent as one pg Submittable: Parse (first use on the connection), Bind,
 * Describe and Execute of each, then ONE Sync. Outside an explicit transaction Postgres runs everything
 * before a Sync as one implicit transaction: the statements commit together or not at all, in one round
 * trip and one commit. An error ends the round at the failing statement and rolls back the earlier ones;
 * the caller then gets the error and must discard the connection, since which of the round's statements
 * were prepared on it is not known.
 */
import type pg from "pg"
import pgUtils from "pg/lib/utils.js"

export interface Statement {
  readonly text: string
  /** undefined: unnamed (parsed again each time) */
  readonly name: string | undefined
  readonly values: ReadonlyArray<unknown>
}

/** pg's per-connection record of the statements prepared on it (not in its type declarations) */
interface Prepared {
  readonly parsedStatements: Record<string, string>
}

type Row = Record<string, unknown>
type Done = (err: Error | undefined, rows: ReadonlyArray<Row | undefined>) => void

/** a field's text value: int2 and int4 (the statements' counts) as numbers, anything else as text */
const parseField = (value: string | null, typeOid: number): unknown =>
  value !== null && (typeOid === 23 || typeOid === 21) ? Number(value) : value

export class OneSync {
  /** the first result row of each statement that completed (undefined for one that returned none) */
  private readonly rows: Array<Row | undefined> = []
  private current: Row | undefined = undefined
  private fields: ReadonlyArray<{ readonly name: string; readonly dataTypeID: number }> = []
  private readonly parsed: Array<Statement> = []
  private failed: Error | undefined = undefined
  private done: Done | undefined

  constructor(
    readonly statements: ReadonlyArray<Statement>,
    done: Done
  ) {
    this.done = done
  }

  submit(connection: pg.Connection): void {
    const prepared = (connection as unknown as Prepared).parsedStatements
    const c = connection as unknown as PgConnection
    // one write for the whole round (as node-postgres does for one query), not one per message
    c.stream.cork()
    try {
      this.send(c, prepared)
    } finally {
      c.stream.uncork()
    }
  }

  private send(c: PgConnection, prepared: Record<string, string>): void {
    for (const s of this.statements) {
      const name = s.name ?? ""
      if (s.name === undefined) c.parse({ text: s.text, name, types: [] })
      else if (prepared[s.name] !== s.text && !this.parsed.some((p) => p.name === s.name)) {
        c.parse({ text: s.text, name, types: [] })
        this.parsed.push(s)
      }
      c.bind({ portal: "", statement: name, values: s.values, binary: false, valueMapper: pgUtils.prepareValue })
      c.describe({ type: "P", name: "" })
      c.execute({ portal: "", rows: 0 })
    }
    c.sync()
  }

  handleRowDescription(msg: { fields: ReadonlyArray<{ name: string; dataTypeID: number }> }): void {
    this.fields = msg.fields
  }

  handleDataRow(msg: { fields: ReadonlyArray<string | null> }): void {
    if (this.current !== undefined) return
    const row: Row = {}
    for (let i = 0; i < this.fields.length; i++) {
      const f = this.fields[i]!
      row[f.name] = parseField(msg.fields[i] ?? null, f.dataTypeID)
    }
    this.current = row
  }

  handleCommandComplete(): void {
    this.rows.push(this.current)
    this.current = undefined
    this.fields = []
  }

  handleEmptyQuery(): void {
    this.handleCommandComplete()
  }

  handlePortalSuspended(): void {}

  handleCopyInResponse(connection: pg.Connection): void {
    ;(connection as unknown as PgConnection).sendCopyFail("COPY is not supported in one round of statements")
  }

  handleCopyData(): void {}

  /** pg clears its active query on an error: the round ends here, its ReadyForQuery goes to no one */
  handleError(err: Error): void {
    this.failed ??= err
    this.finish()
  }

  handleReadyForQuery(connection: pg.Connection): void {
    if (this.failed === undefined) {
      const prepared = (connection as unknown as Prepared).parsedStatements
      for (const s of this.parsed) prepared[s.name!] = s.text
    }
    this.finish()
  }

  private finish(): void {
    const done = this.done
    if (done === undefined) return
    this.done = undefined
    done(this.failed, this.rows)
  }
}

interface PgConnection {
  readonly stream: { cork(): void; uncork(): void }
  parse(q: { text: string; name: string; types: ReadonlyArray<number> }): void
  bind(q: {
    portal: string
    statement: string
    values: ReadonlyArray<unknown>
    binary: boolean
    valueMapper: unknown
  }): void
  describe(q: { type: "P"; name: string }): void
  execute(q: { portal: string; rows: number }): void
  sync(): void
  sendCopyFail(msg: string): void
}

/** runs `statements` on `client` in one round trip and one implicit transaction: the first row of each */
export const oneSync = (
  client: pg.ClientBase,
  statements: ReadonlyArray<Statement>
): Promise<ReadonlyArray<Row | undefined>> =>
  new Promise((resolve, reject) => {
    client.query(new OneSync(statements, (err, rows) => (err ? reject(err) : resolve(rows))) as never)
  })
