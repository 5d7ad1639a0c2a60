/**
 * How an API group is served: each concern (health, control, mapping, …) is one module that defines its
 * `HttpApiGroup` and implements it, against a one-group API with the same id as the whole API; the whole API
 * (`WalferryApi`) lists the groups, so adding endpoints is one module plus one line there.
 */
import * as HttpApi from "@effect/platform/HttpApi"
import type * as HttpApiGroup from "@effect/platform/HttpApiGroup"

export const API_ID = "walferry"

/** the API to implement one group against (`HttpApiBuilder.group(apiOf(G), "name", …)`) */
export const apiOf = <G extends HttpApiGroup.HttpApiGroup.Any>(group: G) => HttpApi.make(API_ID).add(group)
