/**
 * The handlers' logic behind the HTTP API's sequence and cutover routes, kept out of src/http so the
 * routes stay one line each: `POST /sequences/sync` copies the sequences now (through the running
 * service's copier when there is one), `POST /cutover/{step}` runs one cutover step with its defaults
 * (lag, block-writes, unblock, catch-up, sequences, verify) and answers the step's result.
 */
import { Effect, Option } from "effect"
import type { WalferryConfig } from "../config/Config.js"
import { Sequences } from "../sequences/Sequences.js"
import { syncSequences } from "../sequences/SequenceSync.js"
import { blockStep, catchUpStep, lagStep, sequencesStep, unblockStep, verifyStep, type StepResult } from "./Cutover.js"

export const CUTOVER_STEPS = ["lag", "block-writes", "unblock", "catch-up", "sequences", "verify"] as const

export const syncSequencesNow = (config: WalferryConfig) =>
  Effect.flatMap(Effect.serviceOption(Sequences), (s) => (Option.isSome(s) ? s.value.syncNow : syncSequences(config)))

/** undefined: no such step */
export const cutoverStep = (config: WalferryConfig, step: string): Effect.Effect<StepResult> | undefined => {
  switch (step) {
    case "lag":
      return lagStep(config, 256 * 1024 * 1024)
    case "block-writes":
      return blockStep(config, 10)
    case "unblock":
      return unblockStep(config)
    case "catch-up":
      return catchUpStep(config, 300)
    case "sequences":
      return sequencesStep(config)
    case "verify":
      return verifyStep(config, undefined)
    default:
      return undefined
  }
}
