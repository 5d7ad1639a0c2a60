/**
 * The HTTP API (health, readiness, status, metrics, operator control, read-only mapping) on `api.host:api.port`.
 * Every POST/PUT/PATCH/DELETE needs `Authorization: Bearer <api.token>` and is checked before routing (401 before
 * 404/405); every error is JSON `{ code, error }`. Reads are in-memory snapshots and never block the pipeline.
 */
import { createServer } from "node:http"
import * as HttpServer from "@effect/platform/HttpServer"
import type * as HttpServerError from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Cause, Effect, Layer } from "effect"
import type { Acknowledger } from "../ack/Acknowledger.js"
import { AppConfig } from "../config/AppConfig.js"
import type { ApiConfig } from "../config/Config.js"
import type { EngineControl } from "../pipeline/EngineControl.js"
import type { EngineStatus } from "../pipeline/EngineStatus.js"
import { redactSecrets } from "../telemetry/Logging.js"
import type { Series } from "../telemetry/Series.js"
import type { Writers } from "../writers/Writers.js"
import { errorResponse, renderApiError } from "./ApiError.js"
import { authorize, MUTATING_METHODS } from "./Auth.js"
import { routes } from "./Routes.js"

/** what the API reads and drives */
export type ApiRequirements = AppConfig | EngineStatus | Writers | Acknowledger | EngineControl | Series

const pathOf = (url: string) => url.replace(/[?#].*$/, "")

export const apiApp = Effect.gen(function* () {
  const req = yield* HttpServerRequest.HttpServerRequest
  if (MUTATING_METHODS.has(req.method)) {
    const config = yield* AppConfig
    yield* authorize(config.api.token, req.headers["authorization"])
  }
  return yield* routes
}).pipe(
  Effect.catchTags({
    ApiError: (e) => Effect.succeed(renderApiError(e)),
    RouteNotFound: (e) =>
      Effect.succeed(errorResponse(404, "not_found", `no route for ${e.request.method} ${pathOf(e.request.url)}`))
  }),
  Effect.catchAllCause((cause) =>
    Cause.isInterruptedOnly(cause)
      ? Effect.failCause(cause)
      : Effect.as(
          Effect.logError(`API request failed: ${redactSecrets(Cause.pretty(cause))}`),
          errorResponse(500, "internal", "internal error, see the logs")
        )
  )
)

/** the API served on whatever `HttpServer` is provided */
export const ApiServe: Layer.Layer<never, never, HttpServer.HttpServer | ApiRequirements> = HttpServer.serve(apiApp)

export const apiServer = (api: ApiConfig) => NodeHttpServer.layer(createServer, { host: api.host, port: api.port })

const listen = (api: ApiConfig): Layer.Layer<never, HttpServerError.ServeError, ApiRequirements> =>
  api.enabled ? ApiServe.pipe(HttpServer.withLogAddress, Layer.provide(apiServer(api))) : Layer.empty

/** the API on `api.host:api.port`, or nothing when `api.enabled` is false */
export const HttpApiLive: Layer.Layer<never, HttpServerError.ServeError, ApiRequirements> = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) => listen(config.api))
)
