/** OpenAPI 3.1 description of the HTTP API, served at `/openapi.json`. */

const error = (description: string) => ({
  description,
  content: { "application/json": { schema: { $ref: "#/components/schemas/Error" } } }
})

const ok = (description: string, schema: Record<string, unknown> = { type: "object" }) => ({
  description,
  content: { "application/json": { schema } }
})

const controlBody = {
  required: false,
  content: {
    "application/json": {
      schema: { type: "object", properties: { reason: { type: "string", description: "logged with the action" } } }
    }
  }
}

const mutation = (summary: string, extra: Record<string, unknown> = {}) => ({
  summary,
  security: [{ bearer: [] }],
  requestBody: controlBody,
  responses: {
    "200": ok("done", { $ref: "#/components/schemas/Ok" }),
    "400": error("invalid input"),
    "401": error("missing or wrong bearer token, or api.token not set"),
    ...extra
  }
})

const readOnly = {
  security: [{ bearer: [] }],
  responses: {
    "401": error("missing or wrong bearer token"),
    "405": error("the mapping is declarative (read-only)")
  }
}

const dashboard = {
  summary:
    "web console: charts, tables, table detail, mapping; pause, resume, drain-stop and resync with the token typed in",
  responses: { "200": { description: "HTML page", content: { "text/html": { schema: { type: "string" } } } } }
}

const nullable = (type: string) => ({ type: [type, "null"] })

export const openApiDocument = {
  openapi: "3.1.0",
  info: { title: "walferry", version: "1", description: "Health, status, metrics and control of a walferry process." },
  components: {
    securitySchemes: { bearer: { type: "http", scheme: "bearer", description: "api.token" } },
    schemas: {
      Error: {
        type: "object",
        required: ["code", "error"],
        properties: { code: { type: "string" }, error: { type: "string" }, field: { type: "string" } }
      },
      Ok: { type: "object", required: ["ok"], properties: { ok: { const: true }, action: { type: "string" } } },
      Source: {
        type: "object",
        properties: {
          database: { type: "string" },
          sid: { type: "string" },
          state: { enum: ["starting", "syncing", "streaming", "retrying", "paused", "stopped"] },
          error: nullable("string"),
          since: nullable("string"),
          restarts: { type: "integer" },
          confirmedLsn: nullable("string"),
          receivedLsn: nullable("string"),
          lagSeconds: { type: "number" },
          retainedWalBytes: { type: "number" }
        }
      },
      Table: {
        type: "object",
        properties: {
          target: { type: "string" },
          mode: { enum: ["clone", "append", "history"] },
          state: { enum: ["syncing", "streaming", "paused", "stopped"] },
          error: nullable("string"),
          rowsApplied: { type: "integer" },
          batches: { type: "integer" },
          lastLsn: nullable("string"),
          mailboxDepth: { type: "integer" },
          syncProgress: {
            type: "object",
            properties: { chunksDone: { type: "integer" }, chunksTotal: { type: "integer" }, rows: { type: "integer" } }
          }
        }
      },
      Status: {
        type: "object",
        properties: {
          version: { type: "string" },
          uptimeSeconds: { type: "number" },
          paused: { type: "boolean" },
          sources: { type: "array", items: { $ref: "#/components/schemas/Source" } },
          tables: { type: "array", items: { $ref: "#/components/schemas/Table" } }
        }
      }
    }
  },
  paths: {
    "/": { get: dashboard },
    "/dashboard": { get: dashboard },
    "/console/{file}": {
      get: {
        summary: "the console's scripts and stylesheets (uPlot included), served by walferry itself",
        parameters: [{ name: "file", in: "path", required: true, schema: { type: "string" } }],
        responses: { "200": { description: "JavaScript or CSS" }, "404": error("no such file") }
      }
    },
    "/api/series": {
      get: {
        summary:
          "in-memory time series (api.series_interval_ms, api.series_window_minutes): per source and overall changes/s, rows/s, lag, retained WAL and safe_wal_size with a warning; per table rows/s and mailbox depth",
        responses: { "200": ok("columns aligned with t (unix seconds); null where there was no value") }
      }
    },
    "/api/tables/{table}": {
      get: {
        summary: "one destination table: the source tables feeding it, its column mapping with types, check findings",
        parameters: [{ name: "table", in: "path", required: true, schema: { type: "string" } }],
        responses: { "200": ok("table detail"), "404": error("unknown table") }
      }
    },
    "/api/catalog": {
      get: {
        summary:
          "every table of each source database: row estimate, key, replica identity, and its target and mode when mapped",
        responses: { "200": ok("tables by database group") }
      }
    },
    "/healthz": { get: { summary: "process alive", responses: { "200": ok("alive") } } },
    "/readyz": {
      get: {
        summary: "every source streaming or syncing and no table stopped",
        responses: { "200": ok("ready"), "503": error("not ready: which source or table, and why") }
      }
    },
    "/status": {
      get: {
        summary: "sources and tables",
        responses: { "200": ok("status", { $ref: "#/components/schemas/Status" }) }
      }
    },
    "/metrics": {
      get: {
        summary: "Prometheus metrics",
        responses: {
          "200": { description: "text exposition", content: { "text/plain": { schema: { type: "string" } } } }
        }
      }
    },
    "/openapi.json": { get: { summary: "this document", responses: { "200": ok("OpenAPI 3.1") } } },
    "/pause": { post: mutation("stop consuming from every source (slots keep their position)") },
    "/resume": { post: mutation("resume consuming") },
    "/drain-stop": { post: mutation("apply and confirm everything received, then exit 0") },
    "/tables/{table}/resync": {
      post: {
        ...mutation("copy one destination table again", {
          "404": error("unknown table"),
          "409": error("the engine refused")
        }),
        parameters: [{ name: "table", in: "path", required: true, schema: { type: "string" } }]
      }
    },
    "/api/map": {
      get: { summary: "the effective mapping (URLs masked)", responses: { "200": ok("mapping") } },
      post: readOnly,
      put: readOnly,
      patch: readOnly,
      delete: readOnly
    },
    "/api/map/{path}": {
      parameters: [{ name: "path", in: "path", required: true, schema: { type: "string" } }],
      post: readOnly,
      put: readOnly,
      patch: readOnly,
      delete: readOnly
    }
  }
} as const
