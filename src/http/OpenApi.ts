/** The OpenAPI 3.1 document of the API, generated from its definition (`WalferryApi`). */
import * as OpenApi from "@effect/platform/OpenApi"
import { WalferryApi } from "./WalferryApi.js"

export const openApiDocument = OpenApi.fromApi(WalferryApi)
