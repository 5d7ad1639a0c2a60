/**
 * Changes to the stored mapping (`map_mode: database`) as the API makes them: each runs on one destination
 * connection, then the stored mapping is read back and put in effect (the engine starts a new run with it).
 * Database refusals become API errors: a duplicate or a still-referenced row is a 409, anything else a 500.
 */
import { Effect } from "effect"
import type pg from "pg"
import { BadRequest, Conflict, Failed } from "../http/ApiError.js"
import { currentConfig, replaceSources, type LiveMapping } from "../pipeline/LiveMapping.js"
import { loadGroups, openStore, type StoreFailed } from "./MapStore.js"

const toApiError = (e: StoreFailed) => {
  switch (e.code) {
    case "23505":
      return new Conflict({ code: "conflict", error: `already exists: ${e.message}` })
    case "23503":
      return new Conflict({ code: "conflict", error: `still referenced or missing reference: ${e.message}` })
    case "23514":
    case "23502":
    case "22P02":
      return new BadRequest({ code: "invalid_input", error: e.message })
    default:
      return new Failed({ code: "failed", error: e.message })
  }
}

/** `f` on a store connection (reads) */
export const withStore = <A, E, R>(f: (client: pg.Client) => Effect.Effect<A, E | StoreFailed, R>) =>
  Effect.flatMap(currentConfig, (config) => Effect.scoped(Effect.flatMap(openStore(config), f))).pipe(
    Effect.catchIf(
      (e): e is StoreFailed => typeof e === "object" && e !== null && (e as { _tag?: unknown })._tag === "StoreFailed",
      (e) => Effect.fail(toApiError(e))
    )
  )

/** `f` on a store connection, then the stored mapping in effect */
export const changeStore = <A, E, R>(f: (client: pg.Client) => Effect.Effect<A, E | StoreFailed, R>) =>
  withStore((client) =>
    Effect.gen(function* () {
      const result = yield* f(client)
      const config = yield* currentConfig
      const changed = yield* replaceSources(yield* loadGroups(client, config))
      if (changed) yield* Effect.logInfo("API: stored mapping changed, put in effect")
      return result
    })
  ) as Effect.Effect<A, Exclude<E, StoreFailed> | Conflict | BadRequest | Failed, R | LiveMapping>
