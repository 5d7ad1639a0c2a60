/**
 * The whole HTTP API, defined once: every group's endpoints with their Schemas (input validation, typed errors
 * with their status, success shapes). The OpenAPI document (`/openapi.json`) is generated from it. To add
 * endpoints: write a group module in ./groups (definition and handlers, see groups/Group.ts), then add the
 * group to `WalferryApi` and its layer to `GroupsLive` below.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Layer, Schema } from "effect"
import { ConsoleGroup, ConsoleLive } from "./groups/ConsoleApi.js"
import { ControlGroup, ControlLive } from "./groups/ControlApi.js"
import { CutoverGroup, CutoverLive } from "./groups/CutoverApi.js"
import { API_ID } from "./groups/Group.js"
import { HealthGroup, HealthLive } from "./groups/HealthApi.js"
import { MapGroup, MapLive } from "./groups/MapApi.js"
import { SetupGroup, SetupLive } from "./groups/SetupApi.js"
import { DbGroup, DbLive, TblGroup, TblLive, UrlGroup, UrlLive } from "./groups/StoreApi.js"

export const DocsGroup = HttpApiGroup.make("docs").add(
  HttpApiEndpoint.get("openapi", "/openapi.json")
    .addSuccess(Schema.Unknown)
    .annotate(OpenApi.Summary, "this document (OpenAPI 3.1)")
)

export const WalferryApi = HttpApi.make(API_ID)
  .add(HealthGroup)
  .add(ControlGroup)
  .add(CutoverGroup)
  .add(MapGroup)
  .add(DbGroup)
  .add(UrlGroup)
  .add(TblGroup)
  .add(ConsoleGroup)
  .add(SetupGroup)
  .add(DocsGroup)
  .annotateContext(
    OpenApi.annotations({
      title: "walferry",
      version: "1",
      description: "Health, status, metrics and control of a walferry process, and its mapping (kuvasz-streamer's API)."
    })
  )

/** the handlers of every group except docs (served by Api.ts, which needs the whole document) */
export const GroupsLive = Layer.mergeAll(
  HealthLive,
  ControlLive,
  CutoverLive,
  MapLive,
  DbLive,
  UrlLive,
  TblLive,
  ConsoleLive,
  SetupLive
)
