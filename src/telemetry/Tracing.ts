/**
 * OpenTelemetry traces, switched on by the standard OTEL_* environment variables: with
 * `OTEL_EXPORTER_OTLP_ENDPOINT` or `OTEL_EXPORTER_OTLP_TRACES_ENDPOINT` set, spans are batched and exported over
 * OTLP/HTTP (the exporter itself reads the endpoint, `OTEL_EXPORTER_OTLP_HEADERS`, timeouts …); the service
 * is named by `OTEL_SERVICE_NAME` (default walferry), plus `OTEL_RESOURCE_ATTRIBUTES`. Unset, or with
 * `OTEL_TRACES_EXPORTER=none` or `OTEL_SDK_DISABLED=true`, nothing is installed: no exporter, no cost.
 *
 * Spans: `TableWriter.batch` per applied batch (table, rows, first/last LSN, destination transaction time, links
 * to its source transactions), `Source.transaction` per received source transaction (SourceTxTracer), `Sync.chunk`
 * per initial-sync chunk, `Source.restart` / `Pipeline.restart` per restart. Flushed (bounded) when the layer
 * closes, after the engine has drained. The SDK is loaded only when tracing is on.
 */
import type { SpanProcessor } from "@opentelemetry/sdk-trace-base"
import { Context, Effect, Layer } from "effect"
import { readVersion } from "../cli/Args.js"

export type TracingEnv = Readonly<Record<string, string | undefined>>

const set = (value: string | undefined): value is string => value !== undefined && value.trim() !== ""

/** whether the environment asks for exported traces */
export const tracingEnabled = (env: TracingEnv): boolean => {
  if (env.OTEL_SDK_DISABLED?.trim().toLowerCase() === "true") return false
  const exporters = (env.OTEL_TRACES_EXPORTER ?? "otlp").split(",").map((e) => e.trim().toLowerCase())
  if (exporters.includes("none")) return false
  return set(env.OTEL_EXPORTER_OTLP_ENDPOINT) || set(env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT)
}

export const serviceNameOf = (env: TracingEnv): string =>
  set(env.OTEL_SERVICE_NAME) ? env.OTEL_SERVICE_NAME.trim() : "walferry"

/** whether spans are exported: code that would create spans per transaction checks it first (default false) */
export class TracingEnabled extends Context.Reference<TracingEnabled>()("walferry/TracingEnabled", {
  defaultValue: () => false
}) {}

/** the OpenTelemetry SDK with the given span processor(s): Effect spans become OTel spans */
export const tracingLayer = (
  spanProcessor: SpanProcessor | ReadonlyArray<SpanProcessor>,
  serviceName = "walferry"
): Layer.Layer<never> =>
  Layer.unwrapEffect(
    Effect.promise(async () => {
      const { layer } = await import("@effect/opentelemetry/NodeSdk")
      const sdk = layer(() => ({
        resource: { serviceName, serviceVersion: readVersion() },
        spanProcessor,
        shutdownTimeout: "5 seconds"
      }))
      return Layer.merge(sdk, Layer.succeed(TracingEnabled, true))
    })
  )

/** batched OTLP/HTTP export, configured by the exporter from the OTEL_EXPORTER_OTLP_* variables */
const otlpLayer = (serviceName: string): Layer.Layer<never> =>
  Layer.unwrapEffect(
    Effect.promise(async () => {
      const [{ BatchSpanProcessor }, { OTLPTraceExporter }] = await Promise.all([
        import("@opentelemetry/sdk-trace-base"),
        import("@opentelemetry/exporter-trace-otlp-http")
      ])
      return tracingLayer(new BatchSpanProcessor(new OTLPTraceExporter()), serviceName)
    })
  )

/** tracing as `env` asks for it (see the module header); `Layer.empty` when not asked */
export const tracingFromEnv = (env: TracingEnv): Layer.Layer<never> =>
  tracingEnabled(env) ? otlpLayer(serviceNameOf(env)) : Layer.empty

/** `tracingFromEnv(process.env)`, read when the layer is built */
export const TracingLive: Layer.Layer<never> = Layer.unwrapEffect(Effect.sync(() => tracingFromEnv(process.env)))
