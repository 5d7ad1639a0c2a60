/**
 * Bearer-token check for every mutating request. Without a configured `api.token` all mutations are refused,
 * so an API exposed by mistake cannot pause or stop the engine. Tokens are compared in constant time.
 * `authorize` runs before routing (401 before 404/405); `Authorization` is the same check declared on each
 * mutating endpoint, so the OpenAPI document marks them as needing the bearer token.
 */
import { createHash, timingSafeEqual } from "node:crypto"
import * as HttpApiMiddleware from "@effect/platform/HttpApiMiddleware"
import * as HttpApiSecurity from "@effect/platform/HttpApiSecurity"
import * as OpenApi from "@effect/platform/OpenApi"
import { Effect, Layer, Redacted } from "effect"
import { AppConfig } from "../config/AppConfig.js"
import { Unauthorized } from "./ApiError.js"

export const MUTATING_METHODS: ReadonlySet<string> = new Set(["POST", "PUT", "PATCH", "DELETE"])

const digest = (text: string) => createHash("sha256").update(text, "utf8").digest()

/** constant-time equality: both sides are hashed first so lengths never leak either */
export const sameToken = (expected: string, given: string): boolean => timingSafeEqual(digest(expected), digest(given))

const unauthorized = (message: string) => new Unauthorized({ code: "unauthorized", error: message })

const check = (token: Redacted.Redacted<string> | undefined, given: string | undefined) => {
  if (token === undefined || Redacted.value(token) === "") {
    return Effect.fail(unauthorized("mutations are disabled: set api.token to enable them"))
  }
  if (given === undefined || given === "") {
    return Effect.fail(unauthorized("missing bearer token (Authorization: Bearer <api.token>)"))
  }
  return sameToken(Redacted.value(token), given) ? Effect.void : Effect.fail(unauthorized("invalid bearer token"))
}

export const authorize = (
  token: Redacted.Redacted<string> | undefined,
  authorization: string | undefined
): Effect.Effect<void, Unauthorized> => {
  const match = authorization === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(authorization)
  return check(token, match === null ? undefined : match[1])
}

export class Authorization extends HttpApiMiddleware.Tag<Authorization>()("walferry/Authorization", {
  failure: Unauthorized,
  security: { bearer: HttpApiSecurity.bearer.pipe(HttpApiSecurity.annotate(OpenApi.Description, "api.token")) }
}) {}

export const AuthorizationLive = Layer.effect(
  Authorization,
  Effect.map(AppConfig, (config) =>
    Authorization.of({ bearer: (token) => check(config.api.token, Redacted.value(token)) })
  )
)
