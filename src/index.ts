/**
 * walferry as a library: the actors and their layers, the ports, the configuration and its schema, for
 * composing the pipeline (or parts of it) in another Effect program. See docs/library.md.
 *
 * The usual shape: `appConfigLayer(config)` + `ServiceBaseLive` at the bottom, then the run's actors
 * (`WritersLive` ← `AcknowledgerLive` ← a `Sink` layer ← `DestinationLive` for `PgSinkLive`), then
 * `runSource` per source URL, `runEngine` (all of it, supervised) or `runService` (plus the HTTP API).
 */

// configuration
export type * from "./config/Config.js"
export { AppConfig, appConfigLayer } from "./config/AppConfig.js"
export { ConfigError } from "./config/ConfigError.js"
export { loadConfig, NO_CONFIG_MESSAGE, type LoadedConfig, type LoadOptions } from "./config/ConfigLoader.js"
export { decodeWalferryFile, WalferryFileSchema, type WalferryFile } from "./config/ConfigSchema.js"
export { DEFAULT_HISTORY_COLUMNS, decodeKuvaszMap, KuvaszMapSchema, type KuvaszMap } from "./config/KuvaszMap.js"

// domain and decoding
export * from "./domain/Change.js"
export type { DdlChange, DdlColumn, DdlEvent } from "./domain/DdlEvent.js"
export * as Lsn from "./domain/Lsn.js"
export { qualifiedName, type Column, type Relation, type ReplicaIdentity } from "./domain/Relation.js"
export * from "./decode/PgOutputDecoder.js"

// source reader
export { runSource, sourceKey, SourceRestartBlocked } from "./source/SourceReader.js"

// writers and the sink port
export {
  isApplied,
  Sink,
  type Position,
  type SinkShape,
  type SinkTarget,
  type SpecSource,
  type TargetSpec
} from "./sink/Sink.js"
export { makePgSink, PgSinkLive } from "./sink/PgSink.js"
export { Destination, DestinationLive, makeDestination, type DestinationShape } from "./sink/Destination.js"
export {
  makeTableWriter,
  type TableWriter,
  type WriterOptions,
  type WriterState,
  type WriterStatus
} from "./writers/TableWriter.js"
export { makeWriters, targetSpecs, Writers, WritersLive, type WritersShape } from "./writers/Writers.js"
export { WriteFailed } from "./writers/WriteFailed.js"

// acknowledgement
export {
  Acknowledger,
  AcknowledgerLive,
  makeAcknowledger,
  type AcknowledgerShape,
  type SourceAckState
} from "./ack/Acknowledger.js"
export { LsnTracker } from "./ack/LsnTracker.js"

// flow control: retry policies and the initial-sync rate limiter
export { connectRetry, restartBackoff, writeRetry } from "./flow/Policies.js"
export { acquireThrottle, type Throttle } from "./sync/SyncThrottle.js"

// engine and service
export { awaitPaused, RunSwitch, RunSwitchLive, type RunSwitchShape } from "./pipeline/Control.js"
export {
  EngineStatus,
  EngineStatusLive,
  type EngineStatusShape,
  type SourceState,
  type SourceStateName
} from "./pipeline/EngineStatus.js"
export { runEngine, runOnce, RunLive } from "./pipeline/Engine.js"
export { ApiLive, runService, ServiceBaseLive } from "./pipeline/Service.js"

// telemetry
export { loggerLayer, redactSecrets } from "./telemetry/Logging.js"
export { registry as metricsRegistry } from "./telemetry/Metrics.js"
export { TracingEnabled, TracingLive, tracingFromEnv, tracingLayer } from "./telemetry/Tracing.js"

// verify: compare source and destination tables
export { runVerify, selectJobs, type VerifyOptions } from "./verify/Verify.js"
export { verifyCommand, type VerifyCommandOptions } from "./verify/VerifyCommand.js"
export { VerifyFailed, VerifyUsageError } from "./verify/VerifyDb.js"
export {
  renderReport as renderVerifyReport,
  verifyExitCode,
  type CatchUp,
  type KeyText,
  type RepairSummary,
  type TableReport,
  type Verdict,
  type VerifyReport
} from "./verify/VerifyReport.js"

// sequences and cutover
export { Sequences, SequencesLive } from "./sequences/Sequences.js"
export { syncSequences, type SequenceState } from "./sequences/SequenceSync.js"
export {
  runCutover,
  type CutoverOptions,
  type CutoverReport,
  type StepName,
  type StepResult
} from "./cutover/Cutover.js"
export { cutoverCommand, renderCutover } from "./cutover/CutoverCommand.js"
