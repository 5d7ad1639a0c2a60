/**
 * The HTTP API (health, readiness, status, metrics, operator control, the mapping) on `api.host:api.port`,
 * served from its one definition (`WalferryApi`). Before routing: CORS preflights are answered, every
 * POST/PUT/PATCH/DELETE needs `Authorization: Bearer <api.token>` (401 before 404/405), and mapping changes are
 * refused (405) unless the mapping lives in the database. Every error is JSON `{ code, error }`.
 */
import { createServer } from "node:http"
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import { HttpApiDecodeError } from "@effect/platform/HttpApiError"
import type * as HttpApp from "@effect/platform/HttpApp"
import * as HttpServer from "@effect/platform/HttpServer"
import { RouteNotFound, type ServeError } from "@effect/platform/HttpServerError"
import * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as NodeHttpServer from "@effect/platform-node/NodeHttpServer"
import { Cause, Data, Effect, Layer } from "effect"
import type { Acknowledger } from "../ack/Acknowledger.js"
import { AppConfig } from "../config/AppConfig.js"
import type { ApiConfig } from "../config/Config.js"
import type { EngineControl } from "../pipeline/EngineControl.js"
import type { EngineStatus } from "../pipeline/EngineStatus.js"
import { MapCatalogLive } from "../mapping/MapCatalog.js"
import { currentConfig, type LiveMapping } from "../pipeline/LiveMapping.js"
import { redactSecrets } from "../telemetry/Logging.js"
import type { Series } from "../telemetry/Series.js"
import type { Writers } from "../writers/Writers.js"
import { errorResponse, renderFailure, Unauthorized } from "./ApiError.js"
import { authorize, AuthorizationLive, MUTATING_METHODS } from "./Auth.js"
import { allowedOrigin, preflight, withCors } from "./Cors.js"
import { openApiDocument } from "./OpenApi.js"
import { GroupsLive, WalferryApi } from "./WalferryApi.js"

/** what the API reads and drives */
export type ApiRequirements = AppConfig | EngineStatus | Writers | Acknowledger | EngineControl | LiveMapping | Series

const pathOf = (url: string) => url.replace(/[?#].*$/, "")

const DocsLive = HttpApiBuilder.group(WalferryApi, "docs", (handlers) =>
  handlers.handle("openapi", () => Effect.succeed(openApiDocument))
)

const ApiLive = HttpApiBuilder.api(WalferryApi).pipe(
  Layer.provide(Layer.mergeAll(GroupsLive, DocsLive)),
  Layer.provide(Layer.merge(AuthorizationLive, MapCatalogLive))
)

/**
 * before HttpApi encodes errors: the API's own (rendered with their status), and a payload, path or query that
 * does not match its Schema as `invalid_input` naming the field
 */
const renderErrors = (app: HttpApp.Default<unknown, unknown>) =>
  Effect.catchAll(app, (e) => {
    const rendered = renderFailure(e)
    if (rendered !== undefined) return Effect.succeed(rendered)
    if (!(e instanceof HttpApiDecodeError)) return Effect.fail(e)
    const [issue] = e.issues
    const field = issue === undefined || issue.path.length === 0 ? "body" : String(issue.path[0])
    return Effect.succeed(errorResponse(400, "invalid_input", `${field}: ${issue?.message ?? e.message}`, { field }))
  })

const RenderErrorsLive = Layer.succeed(HttpApiBuilder.Middleware, {
  add: () => Effect.void,
  retrieve: Effect.succeed(renderErrors as never)
})

const guarded = (app: HttpApp.Default<unknown, never>) =>
  Effect.gen(function* () {
    const req = yield* HttpServerRequest.HttpServerRequest
    const config = yield* currentConfig
    const origin = allowedOrigin(config.api.corsOrigins ?? [], req)
    if (req.method === "OPTIONS") return preflight(origin)
    const answer = Effect.gen(function* () {
      if (MUTATING_METHODS.has(req.method)) {
        const { token } = (yield* AppConfig).api
        yield* authorize(token, req.headers["authorization"])
        if (config.mapMode !== "database" && pathOf(req.url).startsWith("/api/")) {
          return errorResponse(405, "not_allowed", "cannot modify configuration in declarative mode")
        }
      }
      return yield* app
    }).pipe(
      Effect.catchIf(
        (e): e is Unauthorized => e instanceof Unauthorized,
        (e) => Effect.succeed(errorResponse(401, e.code, e.error))
      ),
      Effect.catchIf(
        (e): e is RouteNotFound => e instanceof RouteNotFound,
        (e) =>
          Effect.succeed(errorResponse(404, "not_found", `no route for ${e.request.method} ${pathOf(e.request.url)}`))
      ),
      Effect.catchAllCause((cause) =>
        Cause.isInterruptedOnly(cause)
          ? Effect.failCause(cause)
          : Effect.as(
              Effect.logError(`API request failed: ${redactSecrets(Cause.pretty(cause))}`),
              errorResponse(500, "internal", "internal error, see the logs")
            )
      )
    )
    return withCors(yield* answer, origin)
  })

/** the API served on whatever `HttpServer` is provided */
export const ApiServe: Layer.Layer<never, never, HttpServer.HttpServer | ApiRequirements> = Layer.unwrapEffect(
  Effect.map(HttpApiBuilder.httpApp, (app) => HttpServer.serve(guarded(app as HttpApp.Default<unknown, never>)))
).pipe(Layer.provide([HttpApiBuilder.Router.Live, RenderErrorsLive]), Layer.provide(ApiLive))

export const apiServer = (api: ApiConfig) => NodeHttpServer.layer(createServer, { host: api.host, port: api.port })

/** the API's address could not be served (in use, not local, no permission): named with the key that sets it */
export class ApiListenError extends Data.TaggedError("ApiListenError")<{ readonly message: string }> {}

const listenError = (api: ApiConfig) => (e: ServeError) =>
  new ApiListenError({
    message: `api.listen ${api.host}:${api.port}: ${e.cause instanceof Error ? e.cause.message : String(e.cause)}`
  })

const listen = (api: ApiConfig): Layer.Layer<never, ApiListenError, ApiRequirements> =>
  api.enabled
    ? ApiServe.pipe(HttpServer.withLogAddress, Layer.provide(apiServer(api)), Layer.mapError(listenError(api)))
    : Layer.empty

/** the API on `api.host:api.port`, or nothing when `api.enabled` is false */
export const HttpApiLive: Layer.Layer<never, ApiListenError, ApiRequirements> = Layer.unwrapEffect(
  Effect.map(AppConfig, (config) => listen(config.api))
)
