import * as HttpServerResponse from "@effect/platform/HttpServerResponse"
import { Data } from "effect"

/** A request the API refuses; rendered as `{ code, error, ...details }` with `status`. */
export class ApiError extends Data.TaggedError("ApiError")<{
  readonly status: number
  readonly code: string
  readonly message: string
  readonly details?: Readonly<Record<string, unknown>>
}> {}

export const errorResponse = (
  status: number,
  code: string,
  error: string,
  details?: Readonly<Record<string, unknown>>
): HttpServerResponse.HttpServerResponse => HttpServerResponse.unsafeJson({ code, error, ...details }, { status })

export const renderApiError = (e: ApiError): HttpServerResponse.HttpServerResponse =>
  errorResponse(e.status, e.code, e.message, e.details)

export const badInput = (field: string, message: string): ApiError =>
  new ApiError({ status: 400, code: "invalid_input", message: `${field}: ${message}`, details: { field } })

export const notFound = (message: string): ApiError => new ApiError({ status: 404, code: "not_found", message })
