/**
 * The demo's steady sample workload on the source shop: about `txPerSecond` small transactions, each one
 * of: a new customer, an order with its items, an order moving on in its lifecycle, a customer changing
 * tier (a new version in the history table), a delivered order archived (deleted with its items), or a
 * customer without orders removed. A failed transaction is rolled back and the workload goes on.
 */
import { Effect, Schedule, type Scope } from "effect"
import pg from "pg"

export interface DemoWorkload {
  /** committed transactions so far */
  readonly committed: () => number
}

type Action = (client: pg.PoolClient) => Promise<unknown>

const FIRST = ["Ada", "Bela", "Chloe", "Dmitri", "Eszter", "Farid", "Greta", "Hugo", "Ilona", "Jonas", "Kata", "Luis"]
const LAST = ["Kovacs", "Muller", "Dubois", "Smith", "Janssen", "Nagy", "Rossi", "Novak", "Garcia", "Berg"]
const COUNTRIES = ["DE", "FR", "HU", "NL", "US"]
const TIERS = ["standard", "silver", "gold"]

/** transactions in flight at most, so a slow one does not lower the rate */
const CONCURRENCY = 2

const pick = <A>(xs: ReadonlyArray<A>): A => xs[Math.floor(Math.random() * xs.length)]!

/** a random existing row id of `table` (the first id at or above a random point), as a subquery */
const randomRow = (table: string, where = "true") =>
  `(select id from ${table} t where ${where} and id >= (select floor(random() * max(id))::bigint from ${table})
    order by id limit 1)`

let serial = 0

const newCustomer: Action = (c) => {
  const [first, last] = [pick(FIRST), pick(LAST)]
  const email = `${first}.${last}.${Date.now().toString(36)}${(serial++).toString(36)}@example.com`.toLowerCase()
  return c.query("insert into customers (name, email, country) values ($1, $2, $3)", [
    `${first} ${last}`,
    email,
    pick(COUNTRIES)
  ])
}

const newOrder: Action = async (c) => {
  const order = await c.query<{ id: string }>(
    `insert into orders (customer_id) select id from ${randomRow("customers")} c returning id`
  )
  const id = order.rows[0]?.id
  if (id === undefined) return
  const items = 1 + Math.floor(Math.random() * 4)
  for (let i = 0; i < items; i++) {
    await c.query("insert into order_items (order_id, sku, quantity, unit_price) values ($1, $2, $3, $4)", [
      id,
      `SKU-${Math.floor(Math.random() * 50)}`,
      1 + Math.floor(Math.random() * 3),
      (4.99 + Math.floor(Math.random() * 2000) / 100).toFixed(2)
    ])
  }
  await c.query(
    "update orders set total = (select sum(quantity * unit_price) from order_items where order_id = $1) where id = $1",
    [id]
  )
}

const advanceOrder: Action = (c) =>
  c.query(
    `update orders set updated_at = now(), status = case status when 'new' then 'paid' when 'paid' then 'shipped'
       else 'delivered' end
     where id = ${randomRow("orders", "status <> 'delivered'")}`
  )

const changeTier: Action = (c) =>
  c.query(`update customers set tier = $1, updated_at = now() where id = ${randomRow("customers")}`, [pick(TIERS)])

const archiveOrder: Action = (c) =>
  c.query(`delete from orders where id = ${randomRow("orders", "status = 'delivered'")}`)

const removeIdleCustomer: Action = (c) =>
  c.query(
    `delete from customers where id =
       ${randomRow("customers", "not exists (select 1 from orders o where o.customer_id = t.id)")}`
  )

const ACTIONS: ReadonlyArray<readonly [weight: number, action: Action]> = [
  [20, newCustomer],
  [38, newOrder],
  [25, advanceOrder],
  [10, changeTier],
  [5, archiveOrder],
  [2, removeIdleCustomer]
]
const TOTAL_WEIGHT = ACTIONS.reduce((sum, [w]) => sum + w, 0)

const chooseAction = (): Action => {
  let r = Math.random() * TOTAL_WEIGHT
  for (const [weight, action] of ACTIONS) {
    r -= weight
    if (r < 0) return action
  }
  return newOrder
}

const ignore = () => undefined

const transaction = async (pool: pg.Pool, action: Action) => {
  const client = await pool.connect()
  client.on("error", ignore) // the server going away while checked out: the query fails instead
  try {
    await client.query("begin")
    await action(client)
    await client.query("commit")
    client.off("error", ignore)
    client.release()
  } catch (e) {
    await client.query("rollback").catch(ignore)
    client.off("error", ignore)
    client.release(e instanceof Error ? e : true)
    throw e
  }
}

/** starts the workload on `url` in the background; it stops (and its connections close) with the scope */
export const startDemoWorkload = (url: string, txPerSecond = 50): Effect.Effect<DemoWorkload, never, Scope.Scope> =>
  Effect.gen(function* () {
    const pool = yield* Effect.acquireRelease(
      Effect.sync(
        () => new pg.Pool({ connectionString: url, max: CONCURRENCY, application_name: "walferry_demo_workload" })
      ),
      (p) => Effect.promise(() => p.end().catch(() => undefined)).pipe(Effect.timeout("5 seconds"), Effect.ignore)
    )
    pool.on("error", ignore)
    const permits = yield* Effect.makeSemaphore(CONCURRENCY)
    let committed = 0
    const one = Effect.tryPromise(() => transaction(pool, chooseAction())).pipe(
      Effect.tap(() => Effect.sync(() => committed++)),
      Effect.catchAll((e) => Effect.logDebug(`demo workload: transaction failed: ${String(e.cause)}`)),
      Effect.ensuring(permits.release(1))
    )
    const tick = Effect.zipRight(permits.take(1), Effect.fork(one))
    yield* tick.pipe(Effect.repeat(Schedule.fixed(`${Math.round(1000 / txPerSecond)} millis`)), Effect.forkScoped)
    return { committed: () => committed }
  })
