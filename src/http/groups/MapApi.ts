/** The mapping: kuvasz-streamer's `/api/map`. */
import * as HttpApiBuilder from "@effect/platform/HttpApiBuilder"
import * as HttpApiEndpoint from "@effect/platform/HttpApiEndpoint"
import * as HttpApiGroup from "@effect/platform/HttpApiGroup"
import * as OpenApi from "@effect/platform/OpenApi"
import { Effect, Schema } from "effect"
import { currentConfig } from "../../pipeline/LiveMapping.js"
import { mapView } from "../MapView.js"
import { apiOf } from "./Group.js"

export const MapGroup = HttpApiGroup.make("map").add(
  HttpApiEndpoint.get("map", "/api/map")
    .addSuccess(Schema.Unknown)
    .annotate(OpenApi.Summary, "the effective mapping (URLs masked)")
)

export const MapLive = HttpApiBuilder.group(apiOf(MapGroup), "map", (handlers) =>
  handlers.handle("map", () => Effect.map(currentConfig, mapView))
)
