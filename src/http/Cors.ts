/**
 * CORS for `api.cors_origins` (kuvasz-streamer's `cors.allowed_origins`): a request from an allowed origin gets
 * the CORS headers, a preflight (OPTIONS) from it 204; a preflight from any other origin is refused (403
 * `origin_not_allowed`) and other requests get no CORS header, so a browser on another site cannot read the
 * answer. `*` allows every origin. No credentials are involved: the API authenticates by bearer token.
 */
import type * as HttpServerRequest from "@effect/platform/HttpServerRequest"
import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { errorResponse } from "./ApiError.js"

const METHODS = "GET, POST, PUT, PATCH, DELETE"
const HEADERS = "Authorization, Content-Type"
const EXPOSE = "X-Total-Count"
const MAX_AGE = "86400"

/** the origin to answer for, when the request has an allowed `Origin` */
export const allowedOrigin = (
  origins: ReadonlyArray<string>,
  req: HttpServerRequest.HttpServerRequest
): string | undefined => {
  const origin = req.headers["origin"]
  if (origin === undefined || origins.length === 0) return undefined
  return origins.includes("*") || origins.includes(origin) ? origin : undefined
}

export const withCors = (
  response: HttpServerResponse.HttpServerResponse,
  origin: string | undefined
): HttpServerResponse.HttpServerResponse =>
  origin === undefined
    ? response
    : HttpServerResponse.setHeaders(response, {
        "access-control-allow-origin": origin,
        "access-control-expose-headers": EXPOSE,
        vary: "Origin"
      })

/** the answer to an OPTIONS request */
export const preflight = (origin: string | undefined): HttpServerResponse.HttpServerResponse =>
  origin === undefined
    ? errorResponse(403, "origin_not_allowed", "origin not allowed (api.cors_origins)")
    : HttpServerResponse.empty({
        status: 204,
        headers: {
          "access-control-allow-origin": origin,
          "access-control-allow-methods": METHODS,
          "access-control-allow-headers": HEADERS,
          "access-control-max-age": MAX_AGE,
          vary: "Origin"
        }
      })
