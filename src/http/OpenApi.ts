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
  summary: "web dashboard: polls /status; pause, resume, drain-stop and resync with the token typed in",
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
          state: { enum: ["starting", "syncing", "streaming", "retrying", "paused", "stopped", "elsewhere"] },
          error: nullable("string"),
          since: nullable("string"),
          restarts: { type: "integer" },
          confirmedLsn: nullable("string"),
          receivedLsn: nullable("string"),
          lagSeconds: { type: "number" },
          retainedWalBytes: { type: "number" },
          owner: { ...nullable("string"), description: "cluster mode: the runner streaming this source" }
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
      Sequence: {
        type: "object",
        properties: {
          sequence: { type: "string", description: "destination sequence" },
          sources: { type: "array", items: { type: "object" } },
          sourceValue: nullable("string"),
          destinationValue: nullable("string"),
          advanced: { type: "boolean" },
          lastSyncAt: nullable("string"),
          error: nullable("string")
        }
      },
      Status: {
        type: "object",
        properties: {
          version: { type: "string" },
          uptimeSeconds: { type: "number" },
          paused: { type: "boolean" },
          sources: { type: "array", items: { $ref: "#/components/schemas/Source" } },
          tables: { type: "array", items: { $ref: "#/components/schemas/Table" } },
          cluster: {
            type: "object",
            description: "cluster mode only",
            properties: { runner: { type: "string" }, runnersAlive: { type: "array", items: { type: "string" } } }
          },
          sequences: { type: "array", items: { $ref: "#/components/schemas/Sequence" } }
        }
      }
    }
  },
  paths: {
    "/": { get: dashboard },
    "/dashboard": { get: dashboard },
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
    "/sequences/sync": {
      post: mutation("copy the sequences to the destination now (never backwards); answers each sequence's state")
    },
    "/cutover/{step}": {
      post: {
        ...mutation(
          "run one cutover step (lag, block-writes, unblock, catch-up, sequences, verify) with its defaults",
          {
            "404": error("unknown step"),
            "409": error("the step found a problem (the body is the step result, with its problems)")
          }
        ),
        parameters: [
          {
            name: "step",
            in: "path",
            required: true,
            schema: { enum: ["lag", "block-writes", "unblock", "catch-up", "sequences", "verify"] }
          }
        ]
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
