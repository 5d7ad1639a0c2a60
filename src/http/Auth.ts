/**
 * Bearer-token check for every mutating request. Without a configured `api.token` all mutations are refused,
 * so an API exposed by mistake cannot pause or stop the engine. Tokens are compared in constant time.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import { Effect, Redacted } from "effect"
import { ApiError } from "./ApiError.js"

export const MUTATING_METHODS: ReadonlySet<string> = new Set(["POST", "PUT", "PATCH", "DELETE"])

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest()

/** constant-time equality: both sides are hashed first so lengths never leak either */
export const sameToken = (expected: string, given: string): boolean => timingSafeEqual(digest(expected), digest(given))

const unauthorized = (message: string) => new ApiError({ status: 401, code: "unauthorized", message })

export const authorize = (
  token: Redacted.Redacted<string> | undefined,
  authorization: string | undefined
): Effect.Effect<void, ApiError> => {
  if (token === undefined || Redacted.value(token) === "") {
    return Effect.fail(unauthorized("mutations are disabled: set api.token to enable them"))
  }
  const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization)
  if (match === null) return Effect.fail(unauthorized("missing bearer token (Authorization: Bearer <api.token>)"))
  return sameToken(Redacted.value(token), match[1]!) ? Effect.void : Effect.fail(unauthorized("invalid bearer token"))
}
