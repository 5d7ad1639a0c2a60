import { Context, Layer } from "effect"
import type { WalferryConfig } from "./Config.js"

/** The resolved configuration as a service, so every actor layer can be built from it. */
export class AppConfig extends Context.Tag("walferry/AppConfig")<AppConfig, WalferryConfig>() {}

export const appConfigLayer = (config: WalferryConfig): Layer.Layer<AppConfig> => Layer.succeed(AppConfig, config)
